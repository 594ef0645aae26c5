"""Feedback routes: POST /feedback (JSON), the form's POST /feedback/form, the export GET /feedback.

Every way in (these, and the chat buttons in app/integrations/) ends in `take`: the citation
is checked against the index being served, the answer is read from the archive at it (never
taken from the sender), and the verdict is stored and counted.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from app import feedback
from app.api import ArchiveDep, SettingsDep, article_as_cited
from app.config import Settings
from app.errors import BadFeedback, DocumentNotFound
from app.feedback import Channel, Cited, Feedback, Verdict
from app.feedback_store import FeedbackStore, InDatabase, InIndexFolder
from app.live import Archive
from app.live_database import DatabaseArchive
from app.security import OperatorDep
from app.web import templates

logger = logging.getLogger(__name__)

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    verdict: Verdict = Field(description="right, wrong_citation or wrong_answer.")
    question: str = Field(description="The question the answer was given for.")
    file: str = Field(description="The answer's citation: the article's file ...")
    paragraph: int = Field(description="... its paragraph ...")
    start: int = Field(ge=0, description="... and the answer's characters [start:end].")
    end: int = Field(ge=0)
    score: float = Field(ge=0, le=1, allow_inf_nan=False, description="The answer's score.")
    comment: str | None = Field(
        None, description="Optional; at most NEWSROOM_MAX_FEEDBACK_COMMENT_CHARS (1000)."
    )


class FeedbackOut(BaseModel):
    id: int
    at: str
    channel: Channel
    verdict: Verdict
    comment: str
    question: str
    answer: str = Field(description="The archive's text at the citation, as stored.")
    file: str
    paragraph: int
    start: int
    end: int
    score: float
    index_version: str = Field(description="The index version that was being served.")


def take(
    request: Request, archive: Archive, settings: Settings, *, channel: str, verdict: str,
    comment: str | None, cited: Cited,
) -> Feedback:  # fmt: skip
    """Check, store and count one verdict; BadFeedback (422) says what is wrong with it."""
    checked = Cited(
        feedback.question_of(cited.question, settings.max_question_chars),
        cited.file, cited.paragraph, cited.start, cited.end, feedback.score_of(cited.score),
    )  # fmt: skip
    verdict = feedback.verdict_of(verdict)
    note = feedback.comment_of(comment, settings.max_feedback_comment_chars)
    try:
        article = article_as_cited(archive, cited.file)
    except DocumentNotFound as exc:
        raise BadFeedback(f"{exc} The citation does not match the index.") from exc
    entry = feedback.record(
        channel=channel, verdict=verdict, comment=note, cited=checked,
        answer=feedback.cited_span(article, checked), index_version=version_of(archive),
    )  # fmt: skip
    stored = replace(entry, id=store_of(archive).add(entry))
    request.app.state.metrics.feedback.labels(channel, verdict).inc()
    logger.info("feedback %s from %s on %s ¶%d", verdict, channel, cited.file, cited.paragraph)
    return stored


def add_comment(archive: Archive, settings: Settings, feedback_id: int, text: str) -> bool:
    """A comment given after its verdict; False if there is no such verdict or it has one."""
    note = feedback.comment_of(text, settings.max_feedback_comment_chars)
    return bool(note) and store_of(archive).comment(feedback_id, note)


def store_of(archive: Archive) -> FeedbackStore:
    """Feedback is kept where the archive is: its PostgreSQL database, or its index folder."""
    if isinstance(archive, DatabaseArchive):
        return InDatabase(archive.store.db)
    return InIndexFolder(archive.index_dir)


def version_of(archive: Archive) -> str:
    """The index version answering now: a version folder's name, or the database's write
    generation (every write moves it)."""
    if isinstance(archive, DatabaseArchive):
        return f"generation-{archive.store.generation()}"
    return archive.served_version


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={422: {"description": "A bad verdict, an over-long comment, or a citation the "
                     "index does not hold"}},
)  # fmt: skip
def post_feedback(
    body: FeedbackIn, request: Request, archive: ArchiveDep, settings: SettingsDep
) -> FeedbackOut:
    """Mark an answer right, or its citation or its answer wrong, with an optional comment."""
    cited = Cited(body.question, body.file, body.paragraph, body.start, body.end, body.score)
    stored = take(
        request, archive, settings, channel="api", verdict=body.verdict, comment=body.comment,
        cited=cited,
    )  # fmt: skip
    return FeedbackOut.model_validate(asdict(stored))


@router.get(
    "/feedback",
    dependencies=[OperatorDep],
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "One verdict a line"},
        401: {"description": "Missing or wrong bearer token"},
        403: {"description": "No API_TOKEN configured"},
    },
)
def export(
    archive: ArchiveDep,
    since: Annotated[
        str | None, Query(description="Only verdicts from then on: 2026-12-01 or a time.")
    ] = None,
) -> StreamingResponse:
    """Every verdict as JSON Lines, oldest first (python -m app eval reads the file)."""
    found = store_of(archive).rows(since)
    # The first row is read here, so a bad `since` or an unreadable store is a 4xx/503, not
    # a broken stream.
    first = list(itertools.islice(found, 1))
    lines = _lines(itertools.chain(first, found))
    return StreamingResponse(lines, media_type="application/x-ndjson")


def _lines(found: Iterator[Feedback]) -> Iterator[str]:
    for entry in found:
        yield entry.as_json() + "\n"


# --- the web form's buttons (app/web/templates/feedback.html) --------------------------------


@router.post("/feedback/form", response_class=HTMLResponse, include_in_schema=False)
def form_feedback(
    request: Request,
    archive: ArchiveDep,
    settings: SettingsDep,
    verdict: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    file: Annotated[str, Form()] = "",
    paragraph: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """A button under an answer on the form: a thank-you page, or the problem in words."""
    context: dict[str, Any] = {"q": question.strip(), "stored": None, "error": None}
    try:
        cited = Cited(question, file, *_numbers(paragraph, start, end), _score(score))
        context["stored"] = take(
            request, archive, settings, channel="form", verdict=verdict, comment=comment,
            cited=cited,
        )  # fmt: skip
    except BadFeedback as exc:
        context["error"] = str(exc)
        return templates.TemplateResponse(request, "feedback_thanks.html", context, 422)
    context["label"] = feedback.LABELS[context["stored"].verdict]
    return templates.TemplateResponse(request, "feedback_thanks.html", context)


def _numbers(*texts: str) -> tuple[int, int, int]:
    try:
        paragraph, start, end = (int(t) for t in texts)
    except ValueError:
        raise BadFeedback("The citation's paragraph and offsets are not numbers.") from None
    return paragraph, start, end


def _score(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadFeedback(f"score {text!r} is not a number between 0 and 1.") from None
