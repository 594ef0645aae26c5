"""Each article's history: when it was added, corrected (with the note and the paragraphs the
correction changed) and withdrawn; the old texts are kept.

Layout, beside the index versions (a rebuild of the index keeps them)::

    index/revisions/<file>.json       {"file", "revisions": [oldest first]}
    index/revisions/texts/<sha256>    every text the archive ever held, by its hash

A write records its revision first, as pending, then changes the corpus file and the index,
then confirms it. After a crash, settle() keeps a pending revision whose text is the corpus
file's (the write got through) and drops one whose is not: history agrees with the corpus.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.files import write_text_atomically

FOLDER = "revisions"


@dataclass(frozen=True)
class Correction:
    """What an answer from a changed paragraph carries."""

    time: str  # ISO 8601, UTC
    note: str

    @property
    def date(self) -> str:
        return self.time[:10]


@dataclass(frozen=True)
class Revision:
    action: str  # "added" | "corrected" | "withdrawn"
    time: str
    sha256: str  # the text it left in the archive (withdrawn: the last text it held)
    note: str = ""
    # Paragraph number -> the correction that last changed it, for this revision's text.
    marks: dict[int, Correction] = field(default_factory=dict)
    pending: bool = False


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _folder(index_dir: Path) -> Path:
    return index_dir / FOLDER


def history(index_dir: Path, file: str) -> list[Revision]:
    """Every revision of one article, oldest first ([] for one never written through the API)."""
    if "/" in file or "\\" in file or file.startswith("."):  # a name, never a path
        return []
    path = _folder(index_dir) / f"{file}.json"
    if not path.is_file():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))["revisions"]
    return [_revision(row) for row in rows]


def _revision(row: dict[str, Any]) -> Revision:
    marks = {int(k): Correction(**v) for k, v in row.get("marks", {}).items()}
    return Revision(**{**row, "marks": marks})


def _write(index_dir: Path, file: str, revisions: list[Revision]) -> None:
    rows = [asdict(r) for r in revisions]
    text = json.dumps({"file": file, "revisions": rows}, ensure_ascii=False, indent=1)
    _folder(index_dir).mkdir(parents=True, exist_ok=True)
    write_text_atomically(_folder(index_dir) / f"{file}.json", text)


def begin(index_dir: Path, file: str, revision: Revision) -> None:
    """Record a write about to happen (pending until confirm)."""
    _write(index_dir, file, [*settled(history(index_dir, file)), replace(revision, pending=True)])


def confirm(index_dir: Path, file: str) -> None:
    revisions = history(index_dir, file)
    if revisions and revisions[-1].pending:
        _write(index_dir, file, [*revisions[:-1], replace(revisions[-1], pending=False)])


def settled(revisions: list[Revision]) -> list[Revision]:
    return [r for r in revisions if not r.pending]


def settle(index_dir: Path, corpus: dict[str, str]) -> None:
    """After a crash: confirm each pending revision the corpus (file -> sha256) shows went
    through, drop the others."""
    folder = _folder(index_dir)
    if not folder.is_dir():
        return
    for path in folder.glob("*.json"):
        file = path.name.removesuffix(".json")
        revisions = history(index_dir, file)
        if not revisions or not revisions[-1].pending:
            continue
        last = revisions[-1]
        done = (
            corpus.get(file) is None
            if last.action == "withdrawn"
            else (corpus.get(file) == last.sha256)
        )
        _write(index_dir, file, [*revisions[:-1], replace(last, pending=False)] if done
               else revisions[:-1])  # fmt: skip


def keep_text(index_dir: Path, sha256: str, text: str) -> None:
    """Keep a text the archive held (content-addressed, so writing it twice is harmless)."""
    path = _folder(index_dir) / "texts" / sha256
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, text)


def marks_for(index_dir: Path, indexed: dict[str, str]) -> dict[str, dict[int, Correction]]:
    """The corrected paragraphs of every indexed article (file -> sha256), from the latest
    revision that holds exactly the indexed text."""
    found: dict[str, dict[int, Correction]] = {}
    folder = _folder(index_dir)
    for path in folder.glob("*.json") if folder.is_dir() else ():
        file = path.name.removesuffix(".json")
        latest = next((r for r in reversed(history(index_dir, file))), None)
        if latest and latest.marks and latest.sha256 == indexed.get(file):
            found[file] = latest.marks
    return found


def withdrawn(index_dir: Path, file: str) -> Revision | None:
    """The tombstone, if the article's last settled revision withdrew it."""
    revisions = settled(history(index_dir, file))
    return revisions[-1] if revisions and revisions[-1].action == "withdrawn" else None


def carried_marks(
    old: dict[int, str], new: dict[int, str], old_marks: dict[int, Correction], mark: Correction
) -> dict[int, Correction]:
    """Paragraph number -> correction for the new text (number -> paragraph text): a paragraph
    found word for word in the old text keeps its old mark, if any; any other is marked by
    this correction."""
    where = {text: number for number, text in old.items()}
    marks: dict[int, Correction] = {}
    for number, text in new.items():
        if text not in where:
            marks[number] = mark
        elif where[text] in old_marks:
            marks[number] = old_marks[where[text]]
    return marks
