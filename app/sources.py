"""Which answers stand as sources: the best one, then other passages' distinct answers that
the passage model weighs about as highly (chat replies and the form show the same ones)."""

from __future__ import annotations

import re

from app.reader.answer import Answer

# Two sources that both answer split the passage model's softmax over the candidates, so an
# answer whose passage holds a third of the best one's share is another source's answer, not
# noise. (The score is P(right) of that one answer, which a disagreeing source lowers.)
DISAGREE_SHARE = 1 / 3

_SPACE = re.compile(r"\s+")


def standing(answers: list[Answer], *, limit: int = 3) -> list[Answer]:
    """The best answer, then distinct answers that weigh at least DISAGREE_SHARE of it (a whole
    sentence never stands beside a best answer that is a short span); at most `limit`."""
    if not answers:
        return []
    best = answers[0]
    shown: list[Answer] = []
    for answer in answers:
        if weight(answer) < DISAGREE_SHARE * weight(best) or len(shown) == limit:
            break
        if plain(answer.answer) not in {plain(a.answer) for a in shown} and not (
            is_span(best) and not is_span(answer)
        ):
            shown.append(answer)
    return shown


def differ(answers: list[Answer]) -> bool:
    """Whether standing answers disagree: different short answers from different articles."""
    return (
        len({plain(a.answer) for a in answers}) > 1 and len({a.citation.file for a in answers}) > 1
    )


def weight(answer: Answer) -> float:
    """The passage model's share where the reader gave it (the span reader's margin, which
    moves the first passage up, is left out), else the score."""
    return answer.share or answer.score


def is_span(answer: Answer) -> bool:
    """A short answer found inside its sentence; a whole sentence answers more loosely."""
    return plain(answer.answer) != plain(answer.sentence)


def plain(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
