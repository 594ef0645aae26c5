"""Publishing to the live archive: add, correct and withdraw articles, one writer at a time.

The corpus file is the truth and changes first (written aside, then renamed over); the index
follows, built aside and swapped in whole. A crash between the two is repaired on the next
start by reconcile(), so an interrupted write ends up fully there (the file was renamed into
place) or fully absent (it was not).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from app import files
from app.archive import extracted, revisions, store
from app.archive.corpus import Article, corpus_files, parse_article, read_text
from app.archive.embed import Embedder
from app.archive.ingest import (
    Report,
    build_index,
    copy_of,
    index_articles,
    indexed_hashes,
    read_corpus,
    revise,
    without,
)
from app.archive.revisions import Correction, Revision
from app.archive.store import Index
from app.errors import (
    BadDocument,
    BadName,
    DocumentExists,
    DocumentNotFound,
    NotText,
    TooLarge,
)
from app.live import Archive

logger = logging.getLogger(__name__)

NAME = re.compile(r"[A-Za-z0-9._-]+\.(?:txt|md)")
MAX_NAME = 200
# Half-written files (app/files.py names them, so corpus_files() never takes them for articles),
# and as releases before it named them.
PARTIALS = (files.PARTIAL_GLOB, ".publish-*.*.part")


@dataclass(frozen=True)
class Outcome:
    action: str  # "added" | "replaced" | "unchanged" | "withdrawn"
    file: str
    paragraphs: int
    chunks: int


# --- checks: pure ---------------------------------------------------------------------------


def check_name(file: str) -> str:
    """A plain file name: no folders, no hidden files, .txt or .md."""
    if len(file) > MAX_NAME or file.startswith(".") or not NAME.fullmatch(file):
        raise BadName(
            f"{file[:MAX_NAME]!r} is not an article name: use letters, digits, '.', '_' or '-' "
            f"(at most {MAX_NAME}), ending in .txt or .md"
        )
    return file


def decode(data: bytes, *, file: str, limit: int) -> str:
    """Uploaded bytes as text, exactly as a later read of the stored file will see them."""
    check_size(len(data), file=file, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotText(f"{file}: not UTF-8 text (byte {exc.start})") from exc


def encode(text: str, *, file: str, limit: int) -> bytes:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotText(f"{file}: not encodable as UTF-8 (character {exc.start})") from exc
    check_size(len(data), file=file, limit=limit)
    return data


def check_size(size: int, *, file: str, limit: int) -> None:
    if size > limit:
        raise TooLarge(f"{file} is {size} bytes; the limit is {limit}")


def article_from(file: str, text: str) -> Article:
    article = parse_article(check_name(file), text)
    if not article.body:
        raise BadDocument(
            f"{file}: nothing to index (no paragraph of four or more words under a heading)"
        )
    return article


def duplicate_of(index: Index, article: Article) -> str | None:
    """Another article with this very text, if there is one."""
    for name, info in index.manifest.files.items():
        if name != article.file and info["sha256"] == article.sha256:
            return name
    return None


# --- writes ---------------------------------------------------------------------------------


def publish(archive: Archive, article: Article, *, replace: bool, note: str = "") -> Outcome:
    """Add a new article (replace=False) or correct an existing one (replace=True, with the
    correction's note)."""
    with archive.writing() as reader:
        index = reader.index
        _check_publishable(index, article, replace=replace)
        known = index.files.get(article.file)
        if known is not None and known.sha256 == article.sha256:
            return Outcome("unchanged", article.file, known.paragraphs, len(known.chunks))
        old = _keep_old(archive.index_dir, index, article.file, known.sha256) if known else None
        revision = _revision(archive.index_dir, old, article, note) if old and replace else None
        revisions.keep_text(archive.index_dir, article.sha256, article.text)
        revisions.begin(
            archive.index_dir,
            article.file,
            revision or Revision("added", revisions.now(), article.sha256),
        )
        # The file is the old one or the new one, never half.
        files.write_text_atomically(index.corpus_dir / article.file, article.text)
        parts = index_articles([article], archive.embedder)
        _commit(archive, revise(index, archive.embedder, put=parts))
        revisions.confirm(archive.index_dir, article.file)
    action = "replaced" if replace else "added"
    logger.info("%s %s: %d chunks", action, article.file, len(parts[0].chunks))
    return Outcome(action, article.file, len(article.paragraphs), len(parts[0].chunks))


def _check_publishable(index: Index, article: Article, *, replace: bool) -> None:
    name = article.file
    if replace and name not in index.files:
        raise DocumentNotFound(f"No article named {name!r} to correct; POST /documents adds it.")
    if not replace and (name in index.files or (index.corpus_dir / name).exists()):
        raise DocumentExists(
            f"{name} is already in the archive; PUT /documents/{name} corrects it."
        )
    twin = duplicate_of(index, article)
    if twin is not None:
        raise DocumentExists(f"The same text is already in the archive as {twin}.")


def _revision(index_dir: Path, old_text: str, article: Article, note: str) -> Revision:
    """A correction: the paragraphs whose words changed are marked with its note; the others
    keep the marks earlier corrections gave them."""
    old = parse_article(article.file, old_text)
    previous = revisions.settled(revisions.history(index_dir, article.file))
    old_marks = previous[-1].marks if previous and previous[-1].sha256 == old.sha256 else {}
    mark = Correction(revisions.now(), note)
    marks = revisions.carried_marks(_texts(old), _texts(article), old_marks, mark)
    return Revision("corrected", mark.time, article.sha256, note, marks)


def _keep_old(index_dir: Path, index: Index, file: str, sha256: str) -> str | None:
    """The text about to be replaced or withdrawn, kept by its hash for the history."""
    path = index.corpus_dir / file
    if not path.is_file():
        return None
    text = read_text(path)
    revisions.keep_text(index_dir, sha256, text)
    return text


def _texts(article: Article) -> dict[int, str]:
    return {p.number: " ".join(p.text.split()) for p in article.body}


def withdraw(archive: Archive, file: str, *, note: str = "") -> Outcome:
    """Take an article out of the corpus and the index; a tombstone remembers when."""
    with archive.writing() as reader:
        index = reader.index
        known = index.files.get(file) or copy_of(index, file)
        if known is None:
            raise DocumentNotFound(f"No article named {file!r} in the archive.")
        _keep_old(archive.index_dir, index, file, known.sha256)
        tombstone = Revision("withdrawn", revisions.now(), known.sha256, note)
        revisions.begin(archive.index_dir, file, tombstone)
        remove_file(index.corpus_dir / file)
        _commit(archive, without(index, archive.embedder, file))
        revisions.confirm(archive.index_dir, file)
    logger.info("withdrew %s", file)
    return Outcome("withdrawn", file, known.paragraphs, len(known.chunks))


def _commit(archive: Archive, index: Index) -> None:
    archive.use(index, store.save(index, archive.index_dir).name)


def remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)
    files.fsync_dir(path.parent)


# --- repair on start ------------------------------------------------------------------------


def reconcile(index_dir: Path, embedder: Embedder) -> Report | None:
    """Make the index agree with its corpus folder again, if a crash left them apart.

    Runs before serving, under the write lock: another worker may be writing right now, and
    its half-written file is not a crash's leftover. Cheap when they agree: the files are
    hashed, nothing is parsed.
    """
    if not store.exists(index_dir):
        return None
    with store.writing(index_dir):
        return _repair(index_dir, embedder)


def _repair(index_dir: Path, embedder: Embedder) -> Report | None:
    manifest = store.read_manifest(index_dir)
    store.check_compatible(manifest, model=embedder.name, dim=embedder.dim, index_dir=index_dir)
    corpus = Path(manifest.corpus_dir)
    if not corpus.is_dir():
        logger.warning("corpus folder %s is missing; serving the index as it is", corpus)
        return None
    for partial in (p for pattern in PARTIALS for p in corpus.glob(pattern)):
        partial.unlink(missing_ok=True)
    on_disk = _fingerprints(corpus)
    revisions.settle(index_dir, on_disk)
    indexed = indexed_hashes(manifest)
    if on_disk == indexed or _readable(corpus, index_dir) == indexed:
        return None
    report = build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    logger.warning(
        "index repaired to match %s: embedded %s, removed %s",
        corpus,
        report.embedded,
        report.removed,
    )
    return report


def _fingerprints(corpus: Path) -> dict[str, str]:
    """Hashes of the raw bytes: the same as the manifest's for UTF-8 text, and fast."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus_files(corpus)}


def _readable(corpus: Path, index_dir: Path) -> dict[str, str]:
    """Hashes of the articles indexing would take (it skips unreadable files and pages
    without an article)."""
    articles, _ = read_corpus(corpus, extracted.folder(index_dir))
    return {a.file: a.sha256 for a in articles}
