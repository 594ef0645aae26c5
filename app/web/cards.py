"""The form's answers as cards: the answers that stand (grouped when their sources differ),
and apart from them the passages too unsure to be called answers."""

from __future__ import annotations

from dataclasses import dataclass

from app import citations
from app.answers import paragraph_url
from app.reader.answer import Answer, Result
from app.reader.collapse import AlsoIn
from app.sources import differ, standing


@dataclass(frozen=True)
class Card:
    """One answer as the form shows it; `marked` is the answer inside its sentence."""

    answer: Answer
    before: str
    marked: str
    after: str
    url: str
    byline: list[str]  # the outlet and date beside the headline
    corrected: str | None
    copies: list[tuple[AlsoIn, str, str | None]]  # each copy, its link, its date
    cite: str  # the line a reporter copies


@dataclass(frozen=True)
class Cards:
    answers: list[Card]
    differ: bool  # the answers are different sources saying different things
    others: list[Card]  # "Other passages": no answer, or under the form's score threshold


def cards(result: Result, base: str, *, min_score: float) -> Cards:
    """When the best answer is sure enough: the answers that stand as sources (app/sources.py,
    as chat shows them) and any other as sure, then every other passage apart."""
    found = result.answers
    if result.no_answer or not found or found[0].score < min_score:
        return Cards([], False, [card(a, base) for a in found])
    stand = standing(found, limit=len(found))
    sure = [a for a in found if a.score >= min_score or any(a is s for s in stand)]
    rest = [a for a in found if all(a is not s for s in sure)]
    return Cards([card(a, base) for a in sure], differ(stand), [card(a, base) for a in rest])


def card(answer: Answer, base: str) -> Card:
    c = answer.citation
    url = paragraph_url(c.file, c.paragraph)
    return Card(
        answer,
        *highlight(answer),
        url=url,
        byline=[p for p in (c.meta.source, citations.human_date(c.meta.published)) if p],
        corrected=citations.corrected_line(answer),
        copies=[
            (a, paragraph_url(a.file, a.paragraph), citations.human_date(a.published))
            for a in answer.also_in
        ],
        cite=citations.answer_line(answer, base.rstrip("/") + url),
    )


def highlight(answer: Answer) -> tuple[str, str, str]:
    """The sentence cut around the answer span, for the template to mark (and escape)."""
    at = answer.sentence.find(answer.answer)
    if at < 0 or answer.answer == answer.sentence:
        return "", answer.sentence, ""
    end = at + len(answer.answer)
    return answer.sentence[:at], answer.answer, answer.sentence[end:]
