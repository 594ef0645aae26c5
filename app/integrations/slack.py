"""Slack: the /ask slash command and @mentions (Events API), signed with the signing secret."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient
from starlette.exceptions import HTTPException

from app.api import ArchiveDep, SettingsDep
from app.config import Settings
from app.errors import BadQuestion, IndexNotReady
from app.integrations import chat
from app.integrations.deliveries import Claims, runtime_folder
from app.integrations.feedback_buttons import slack_message_with_buttons
from app.integrations.messages import UNAVAILABLE, slack_message, slack_text, slack_unescape, usage
from app.live import Archive
from app.reader.answer import Result

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def configured(settings: SettingsDep) -> None:
    """404 until SLACK_SIGNING_SECRET is set."""
    if not settings.slack_signing_secret:
        raise HTTPException(404)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Slack retries an event it thinks we missed; its event_id must reply once only, whichever
    # worker process the retry reaches (they share the runtime folder).
    settings: Settings = app.state.settings
    with runtime_folder(settings, "slack-events") as folder:
        app.state.slack_events = Claims(folder, ttl=3600)
        yield


router = APIRouter(prefix="/slack", dependencies=[Depends(configured)], lifespan=_lifespan)


def verify(settings: Settings, body: bytes, headers: Mapping[str, str]) -> None:
    """401 unless X-Slack-Signature signs this body at a timestamp within 5 minutes."""
    assert settings.slack_signing_secret
    verifier = SignatureVerifier(settings.slack_signing_secret)
    try:
        valid = verifier.is_valid(
            body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        )
    except (ValueError, TypeError):  # a timestamp that is not a number, a non-ASCII signature
        valid = False
    if not valid:
        logger.warning("Rejected a Slack request with a bad or stale signature")
        raise HTTPException(401, "Invalid Slack request signature.")


@router.get("/commands")
def ssl_check() -> Response:
    """Slack's certificate check (`?ssl_check=1`)."""
    return Response(status_code=200)


@router.post("/commands")
async def command(
    request: Request, archive: ArchiveDep, settings: SettingsDep, background: BackgroundTasks
) -> Response:
    """The /ask slash command: the answer inline within 3 s, else later via response_url."""
    body = await chat.read_body(request, settings.chat_max_body_bytes)
    payload = chat.form(body)
    if payload.get("ssl_check") == "1":
        return Response(status_code=200)
    verify(settings, body, request.headers)
    # Slack escapes &, < and > in what it sends, as in its messages.
    text = chat.question(slack_unescape(payload.get("text", "")), settings.max_question_chars)
    visibility = "in_channel" if settings.slack_in_channel else "ephemeral"
    if not text:
        command_name = payload.get("command") or "/ask"
        return _command_reply(
            slack_text(usage(f"Type a question after {command_name}")), "ephemeral"
        )
    task = chat.start_ask(archive, text, top_k=settings.default_top_k)
    done, _ = await asyncio.wait({task}, timeout=settings.slack_answer_timeout)
    if done:
        return _command_reply(_message(task, settings), visibility)
    logger.info(
        "Slack command still thinking after %.1fs; answering via response_url",
        settings.slack_answer_timeout,
    )
    background.add_task(_answer_later, task, settings, payload.get("response_url", ""), visibility)
    return _command_reply(slack_text(f"Looking in the archive: {text}"), "ephemeral")


def _command_reply(message: dict[str, Any], visibility: str) -> JSONResponse:
    return JSONResponse({"response_type": visibility, **message})


def _message(task: asyncio.Task[Result], settings: Settings) -> dict[str, Any]:
    try:
        return _answers(task.result(), settings)
    except IndexNotReady:
        return slack_text(UNAVAILABLE)
    except BadQuestion as exc:  # a filter token it cannot read
        return slack_text(str(exc))


async def _answer_later(
    task: asyncio.Task[Result], settings: Settings, response_url: str, visibility: str
) -> None:
    await asyncio.wait({task})
    message = _message(task, settings)
    if not response_url:
        logger.warning("Slack command without a response_url; the late answer is dropped")
        return
    try:
        response = await asyncio.to_thread(
            WebhookClient(response_url).send, response_type=visibility, **message
        )
    except (SlackClientError, OSError) as exc:
        logger.warning("Slack response_url unreachable: %s", exc)
        return
    if response.status_code != 200:
        logger.warning("Slack response_url answered %s: %s", response.status_code, response.body)


@router.post("/events")
async def events(
    request: Request, archive: ArchiveDep, settings: SettingsDep, background: BackgroundTasks
) -> Response:
    """Events API: the URL check, and @mentions answered in the thread."""
    body = await chat.read_body(request, settings.chat_max_body_bytes)
    verify(settings, body, request.headers)
    payload = chat.json_object(body, "event")
    if payload.get("type") == "url_verification":
        return JSONResponse({"challenge": chat.field(payload, "challenge")})
    event = payload.get("event")
    is_event = payload.get("type") == "event_callback"
    if is_event and isinstance(event, dict) and _should_reply(request, payload, event):
        background.add_task(_reply_in_thread, archive, settings, event)
    # Slack wants its 200 within 3 s whatever we make of the event.
    return Response(status_code=200)


def _should_reply(request: Request, payload: dict[str, Any], event: dict[str, Any]) -> bool:
    if event.get("type") != "app_mention" or event.get("bot_id") or event.get("subtype"):
        return False  # our own and other bots' messages, edits, deletions
    bots = {a.get("user_id") for a in payload.get("authorizations") or [] if isinstance(a, dict)}
    if event.get("user") in bots:
        return False
    event_id = chat.field(payload, "event_id")
    if not event_id:
        return True
    seen: Claims = request.app.state.slack_events
    new = seen.claim(event_id)
    if not new:
        logger.info(
            "Slack event %s delivered again (retry %s); already handled",
            event_id,
            request.headers.get("x-slack-retry-num"),
        )
    return new


def _reply_in_thread(archive: Archive, settings: Settings, event: dict[str, Any]) -> None:
    """Runs after the 200 is sent, in a worker thread."""
    if not settings.slack_bot_token:
        logger.warning("SLACK_BOT_TOKEN is not set; cannot reply to a mention")
        return
    message = _mention_reply(archive, settings, chat.field(event, "text"))
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    thread = chat.field(event, "thread_ts") or chat.field(event, "ts")
    try:
        client.chat_postMessage(channel=chat.field(event, "channel"), thread_ts=thread, **message)
    except SlackApiError as exc:
        logger.warning("Slack chat.postMessage failed: %s", exc.response.get("error"))
    except (SlackClientError, OSError) as exc:
        logger.warning("Slack Web API unreachable: %s", exc)


def _mention_reply(archive: Archive, settings: Settings, mention: str) -> dict[str, Any]:
    text = slack_unescape(_MENTION.sub(" ", mention))
    text = chat.question(text, settings.max_question_chars)
    if not text:
        return slack_text(usage("Mention me with a question"))
    try:
        result = chat.ask(archive, text, top_k=settings.default_top_k)
    except IndexNotReady:
        return slack_text(UNAVAILABLE)
    except BadQuestion as exc:
        return slack_text(str(exc))
    return _answers(result, settings)


def _answers(result: Result, settings: Settings) -> dict[str, Any]:
    if settings.chat_feedback:
        return slack_message_with_buttons(result, settings.public_base_url)
    return slack_message(result, settings.public_base_url)
