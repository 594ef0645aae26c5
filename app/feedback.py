"""Feedback on answers: a reader's verdict on one cited answer, checked against the archive.

Pure: what a verdict is, the limits on what a reader may send, and the check that the cited
span is in the index being served. Storing it is app/feedback_store.py; the ways in are
app/feedback_api.py (JSON and the web form) and app/integrations/ (chat buttons).

What is kept is the answer and the verdict, never who gave it: no user id, name or address,
whatever the platform sends (docs/integrations.md, "Feedback").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from app.archive.corpus import Article
from app.errors import BadFeedback

Verdict = Literal["right", "wrong_citation", "wrong_answer"]
Channel = Literal["form", "slack", "teams", "mattermost", "api"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
CHANNELS: tuple[str, ...] = get_args(Channel)
LABELS: dict[str, str] = {
    "right": "Right",
    "wrong_citation": "Wrong citation",
    "wrong_answer": "Wrong answer",
}


@dataclass(frozen=True)
class Cited:
    """What a button or form sends back: the question and the answer's place in the archive."""

    question: str
    file: str
    paragraph: int
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Feedback:
    """One stored verdict: the answer as the index held it, and the version that gave it."""

    at: str  # ISO 8601, UTC
    channel: str
    verdict: str
    comment: str
    question: str
    answer: str
    file: str
    paragraph: int
    start: int
    end: int
    score: float
    index_version: str
    id: int | None = None

    def as_json(self) -> str:
        """One line of the export (GET /feedback)."""
        return json.dumps(asdict(self), ensure_ascii=False)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def verdict_of(value: str) -> str:
    """The verdict, or BadFeedback naming the three there are."""
    if value not in VERDICTS:
        raise BadFeedback(f"verdict {value!r} is not one of {', '.join(VERDICTS)}.")
    return value


def _readable(text: str, what: str) -> str:
    """Text that can be stored as UTF-8 (JSON may carry a lone surrogate, which cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadFeedback(f"The {what} holds characters that are not text.") from None
    return text


def comment_of(value: str | None, limit: int) -> str:
    """The comment, trimmed; over `limit` characters is refused, not cut (nothing is lost)."""
    text = _readable((value or "").strip(), "comment")
    if len(text) > limit:
        raise BadFeedback(
            f"The comment is {len(text)} characters; comments are limited to {limit}."
        )
    return text


def question_of(value: str, limit: int) -> str:
    text = _readable(value.strip(), "question")
    if not text:
        raise BadFeedback("question: the question the answer was for is missing.")
    if len(text) > limit:
        raise BadFeedback(
            f"The question is {len(text)} characters; questions are limited to {limit}."
        )
    return text


def cited_span(article: Article, cited: Cited) -> str:
    """The answer text at the citation, or BadFeedback when the index holds no such span
    (a paragraph the article lacks, offsets outside it: a changed article, or a made-up one)."""
    paragraph = next((p for p in article.paragraphs if p.number == cited.paragraph), None)
    if paragraph is None:
        raise BadFeedback(
            f"{cited.file} has no paragraph {cited.paragraph} in the archive; "
            "the citation does not match the index."
        )
    if not paragraph.start <= cited.start < cited.end <= paragraph.end:
        raise BadFeedback(
            f"Characters {cited.start}-{cited.end} are not inside {cited.file} ¶{cited.paragraph} "
            f"({paragraph.start}-{paragraph.end}); the citation does not match the index."
        )
    return article.text[cited.start : cited.end]


def score_of(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise BadFeedback(f"score {value} is not between 0 and 1.")
    return value


def record(
    *,
    channel: str,
    verdict: str,
    comment: str,
    cited: Cited,
    answer: str,
    index_version: str,
) -> Feedback:
    """A verdict ready to store; the inputs are already checked."""
    return Feedback(
        at=now(),
        channel=channel,
        verdict=verdict,
        comment=comment,
        question=cited.question,
        answer=answer,
        file=cited.file,
        paragraph=cited.paragraph,
        start=cited.start,
        end=cited.end,
        score=round(cited.score, 4),
        index_version=index_version,
    )


# --- what chat buttons carry: the citation, compact, inside the platform's value limit --------


def token(cited: Cited) -> str:
    """The citation as a short JSON string (Slack's button value holds 2,000 characters)."""
    fields = [cited.question, cited.file, cited.paragraph, cited.start, cited.end, cited.score]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def from_token(text: str) -> Cited:
    """The citation a button carried, or BadFeedback if it is not one of ours."""
    try:
        question, file, paragraph, start, end, score = json.loads(text)
        return Cited(str(question), str(file), int(paragraph), int(start), int(end), float(score))
    except (ValueError, TypeError) as exc:
        raise BadFeedback("The button's value is not a citation this service made.") from exc


def row(data: dict[str, Any]) -> Feedback:
    """A line of the export read back (python -m app eval reads these)."""
    known = {k: data[k] for k in Feedback.__dataclass_fields__ if k in data}
    return Feedback(**known)
