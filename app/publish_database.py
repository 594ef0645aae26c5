"""Publishing into the database: add, correct and withdraw one article, each one transaction.

The article is embedded first, outside any transaction; then its rows, the removal of its old
ones, the statistics and its revision are committed together (app/archive/postgres.py). A
crash before the commit leaves the old article whole, after it the new one: there is nothing
to repair at the next start, and no corpus folder to keep in step.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from app.archive import revisions
from app.archive.corpus import Article, parse_article
from app.archive.ingest import index_articles
from app.archive.revisions import Correction, Revision
from app.errors import DocumentExists, DocumentNotFound
from app.live_database import DatabaseArchive
from app.publish import Outcome

logger = logging.getLogger(__name__)


def publish(
    archive: DatabaseArchive, article: Article, *, replace: bool, note: str = ""
) -> Outcome:
    """Add a new article (replace=False) or correct one (replace=True, with its note)."""
    files = archive.store.files()
    known = files.get(article.file)
    _check(files, article, replace=replace)
    if known is not None and known["sha256"] == article.sha256:
        return Outcome("unchanged", article.file, known["paragraphs"], known["chunks"])
    old = archive.store.text(article.file) if known is not None else None
    revision = (
        _correction(archive, old, article, note)
        if old is not None and replace
        else Revision("added", revisions.now(), article.sha256)
    )
    part = index_articles([article], archive.embedder)[0]
    archive.store.put(part, article.text, revision=_row(revision))
    action = "replaced" if replace else "added"
    logger.info("%s %s: %d chunks", action, article.file, len(part.chunks))
    return Outcome(action, article.file, len(article.paragraphs), len(part.chunks))


def withdraw(archive: DatabaseArchive, file: str, *, note: str = "") -> Outcome:
    """Take an article out of every answer; its tombstone stays in its history."""
    known = archive.store.files().get(file)
    if known is None:
        raise DocumentNotFound(f"No article named {file!r} in the archive.")
    tombstone = Revision("withdrawn", revisions.now(), known["sha256"], note)
    if not archive.store.withdraw(file, revision=_row(tombstone)):
        raise DocumentNotFound(f"No article named {file!r} in the archive.")
    logger.info("withdrew %s", file)
    return Outcome("withdrawn", file, known["paragraphs"], known["chunks"])


def _check(files: dict[str, dict], article: Article, *, replace: bool) -> None:
    name = article.file
    if replace and name not in files:
        raise DocumentNotFound(f"No article named {name!r} to correct; POST /documents adds it.")
    if not replace and name in files:
        raise DocumentExists(
            f"{name} is already in the archive; PUT /documents/{name} corrects it."
        )
    same = (f for f, info in files.items() if f != name and info["sha256"] == article.sha256)
    twin = next(same, None)
    if twin is not None:
        raise DocumentExists(f"The same text is already in the archive as {twin}.")


def _correction(archive: DatabaseArchive, old_text: str, article: Article, note: str) -> Revision:
    """As publish._revision: the paragraphs whose words changed carry the correction's note."""
    old = parse_article(article.file, old_text)
    latest = archive.store.latest_revisions([article.file]).get(article.file)
    old_marks: dict[int, Correction] = {}
    if latest is not None and latest[0] == old.sha256:
        old_marks = {int(n): Correction(m["time"], m["note"]) for n, m in latest[1].items()}
    mark = Correction(revisions.now(), note)
    marks = revisions.carried_marks(_texts(old), _texts(article), old_marks, mark)
    return Revision("corrected", mark.time, article.sha256, note, marks)


def _texts(article: Article) -> dict[int, str]:
    return {p.number: " ".join(p.text.split()) for p in article.body}


def _row(revision: Revision) -> dict:
    row = asdict(revision)
    row["marks"] = {str(n): asdict(m) for n, m in revision.marks.items()}
    return row
