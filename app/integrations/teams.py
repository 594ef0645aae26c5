"""Microsoft Teams: an outgoing webhook, signed with HMAC-SHA256 of the body."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import html
import logging
import re
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.api import ArchiveDep, SettingsDep
from app.config import Settings
from app.errors import BadFeedback, BadQuestion, IndexNotReady
from app.feedback_api import take
from app.integrations import chat
from app.integrations.deliveries import Recent
from app.integrations.feedback_buttons import cited, teams_card, teams_click, thanks
from app.integrations.messages import TOO_SLOW, UNAVAILABLE, markdown_message, sources, usage
from app.live import Archive

logger = logging.getLogger(__name__)

Reply = dict[str, Any]  # {"type": "message", "text": ..., "attachments": [...]}

_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _configured(settings: SettingsDep) -> None:
    if not settings.teams_webhook_secret:
        raise HTTPException(404)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Teams may deliver an activity twice: both deliveries await one computation.
    app.state.teams_replies = Recent[asyncio.Task[Reply]](ttl=600, size=2_000)
    yield


router = APIRouter(dependencies=[Depends(_configured)], lifespan=_lifespan)


def verify(settings: Settings, body: bytes, authorization: str | None) -> None:
    """401 unless `Authorization: HMAC <base64 HMAC-SHA256 of the body>` under our secret."""
    assert settings.teams_webhook_secret
    scheme, _, presented = (authorization or "").partition(" ")
    try:
        key = base64.b64decode(settings.teams_webhook_secret, validate=True)
    except binascii.Error as exc:
        raise HTTPException(500, "TEAMS_WEBHOOK_SECRET is not base64.") from exc
    digest = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
    if scheme.lower() != "hmac" or not hmac.compare_digest(
        presented.strip().encode("latin-1"), digest
    ):
        logger.warning("Rejected a Teams request with a bad or missing HMAC")
        raise HTTPException(401, "Invalid Teams signature.")


def question(text: str, max_chars: int) -> str:
    """The message without its @mentions and HTML, as the reporter typed it."""
    text = html.unescape(_TAG.sub(" ", _MENTION.sub(" ", text)))
    return chat.question(text, max_chars)


@router.post("/teams")
async def teams(request: Request, archive: ArchiveDep, settings: SettingsDep) -> Reply:
    """Answer the @mention synchronously as {"type": "message", "text": Markdown}, with a card
    of feedback buttons; a pressed button (Action.Submit) comes back here with its `value`."""
    body = await chat.read_body(request, settings.chat_max_body_bytes)
    verify(settings, body, request.headers.get("authorization"))
    activity = chat.json_object(body, "activity")
    if isinstance(activity.get("value"), dict):
        return await _feedback(request, archive, settings, activity)
    text = question(chat.field(activity, "text"), settings.max_question_chars)
    task = _shared_reply(request, chat.field(activity, "id"), _reply(archive, settings, text))
    try:
        # Shielded: a delivery that gives up waiting leaves the answer for the next one.
        reply = await asyncio.wait_for(asyncio.shield(task), settings.teams_answer_timeout)
    except TimeoutError:
        reply = _message(TOO_SLOW)
    return reply


def _shared_reply(
    request: Request, activity_id: str, reply: Coroutine[Any, Any, Reply]
) -> asyncio.Task[Reply]:
    """The reply to this activity: started now, or the one a first delivery already started."""
    if not activity_id:
        return asyncio.ensure_future(reply)
    replies: Recent[asyncio.Task[Reply]] = request.app.state.teams_replies
    task, new = replies.remember(activity_id, lambda: asyncio.ensure_future(reply))
    if not new:
        reply.close()  # never awaited: the first delivery's task does the work
        logger.info("Teams activity %s delivered again; sharing its answer", activity_id)
    return task


async def _reply(archive: Archive, settings: Settings, text: str) -> Reply:
    if not text:
        return _message(usage("Mention me with a question"))
    try:
        result = await chat.start_ask(archive, text, top_k=settings.default_top_k)
    except IndexNotReady:
        return _message(UNAVAILABLE)
    except BadQuestion as exc:  # a filter token it cannot read
        return _message(str(exc))
    reply = _message(markdown_message(result, settings.public_base_url))
    base = settings.public_base_url
    found = [c for s in sources(result, base) if (c := cited(result, s)) is not None]
    if settings.chat_feedback and found:
        reply["attachments"] = [teams_card(found)]
    return reply


def _message(text: str) -> Reply:
    return {"type": "message", "text": text}


async def _feedback(
    request: Request, archive: Archive, settings: Settings, activity: dict[str, Any]
) -> Reply:
    """A submitted feedback card: stored, and thanked in words."""
    try:
        click = teams_click(activity)
        if click is None:
            return _message("That card is not one of this service's.")
        verdict, comment, answer = click
        await run_in_threadpool(
            take, request, archive, settings, channel="teams", verdict=verdict, comment=comment,
            cited=answer,
        )  # fmt: skip
    except BadFeedback as exc:
        return _message(f"That feedback was not stored: {exc}")
    return _message(thanks(verdict, answer))
