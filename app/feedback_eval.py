"""The newsroom's own feedback as a question set for `python -m app eval`.

An export of GET /feedback is read as questions: an answer marked right is gold (the question,
the answer's text, its file and paragraph), so the archive's real questions become its
regression suite. Answers marked wrong are known-bad: each is asked again, and the report
counts how many still come back the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from app.feedback import Feedback, row
from app.metrics import Question, Source
from app.reader.answer import Result


class Asker(Protocol):
    """app/evaluate.py's Reader or HttpAsker: whatever the gold questions are asked through."""

    def ask(self, question: str, *, top_k: int, method: Literal["hybrid"]) -> Result: ...


@dataclass(frozen=True)
class KnownBad:
    """Answers marked wrong, and those of them the reader still gives first."""

    marked: int
    wrong_answer: int
    wrong_citation: int
    still_same: list[Feedback]


def is_feedback(path: Path) -> bool:
    """An export of GET /feedback (each line has a verdict), not a prepared question set."""
    with open(path, encoding="utf-8") as handle:
        first = next(filter(str.strip, handle), "")
    try:
        data = json.loads(first)
    except ValueError:
        return False
    return isinstance(data, dict) and "verdict" in data


def read(path: Path) -> list[Feedback]:
    """The export's lines; a line that is not feedback stops with its number."""
    found = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                found.append(row(json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise SystemExit(f"{path}:{number}: not a feedback line ({exc})") from exc
    return found


def question_set(path: Path, present: set[str]) -> tuple[list[Question], list[Feedback]]:
    """An export's gold questions and its known-bad answers."""
    entries = read(path)
    return gold(entries, present), wrong(entries)


def gold(entries: Iterable[Feedback], present: set[str]) -> list[Question]:
    """One question per question marked right (asked the same way, give or take spaces and
    case), its right answers merged; one whose articles left the corpus has no answer here."""
    merged: dict[str, list[Feedback]] = {}
    for entry in entries:
        if entry.verdict == "right":
            merged.setdefault(" ".join(entry.question.split()).casefold(), []).append(entry)
    questions = []
    for group in merged.values():
        answers = tuple(dict.fromkeys(e.answer for e in group))
        sources: tuple[Source, ...] = tuple(dict.fromkeys((e.file, e.paragraph) for e in group))
        answerable = any(file in present for file, _ in sources)
        first = group[0]
        questions.append(
            Question(f"feedback-{first.id}", first.question, answers, sources, answerable)
        )
    return questions


def wrong(entries: Iterable[Feedback]) -> list[Feedback]:
    """The answers marked wrong, each (verdict, question, citation) once."""
    seen: set[tuple[str, str, str, int, int, int]] = set()
    found = []
    for entry in entries:
        key = (entry.verdict, entry.question, entry.file, entry.paragraph, entry.start, entry.end)
        if entry.verdict != "right" and key not in seen:
            seen.add(key)
            found.append(entry)
    return found


def same_as_marked(entry: Feedback, file: str, paragraph: int, start: int, end: int) -> bool:
    """The first answer now is the one marked wrong: the same span for a wrong answer, the same
    paragraph for a wrong citation."""
    if entry.verdict == "wrong_citation":
        return (file, paragraph) == (entry.file, entry.paragraph)
    return (file, paragraph, start, end) == (entry.file, entry.paragraph, entry.start, entry.end)


def known_bad(asker: Asker, entries: Sequence[Feedback], *, top_k: int) -> KnownBad:
    """Ask each wrong-marked question again (through the same asker as the gold questions)."""
    still = []
    for entry in entries:
        result = asker.ask(entry.question, top_k=top_k, method="hybrid")
        top = result.answers[0].citation if result.answers else None
        if top is not None and same_as_marked(entry, top.file, top.paragraph, top.start, top.end):
            still.append(entry)
    kinds = [e.verdict for e in entries]
    return KnownBad(len(entries), kinds.count("wrong_answer"), kinds.count("wrong_citation"), still)


def report(bad: KnownBad) -> str:
    lines = [
        f"Known-bad: {bad.marked} answers marked wrong ({bad.wrong_answer} wrong answer, "
        f"{bad.wrong_citation} wrong citation); {len(bad.still_same)} still given first."
    ]
    lines += [f"  still: {e.question!r} -> {e.answer!r} ({e.file} ¶{e.paragraph})"
              for e in bad.still_same]  # fmt: skip
    return "\n".join(lines)
