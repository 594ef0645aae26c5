"""Mattermost: a slash command or an outgoing webhook, checked against MATTERMOST_TOKEN."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.exceptions import HTTPException

from app.api import ArchiveDep, SettingsDep
from app.config import Settings
from app.errors import BadQuestion, IndexNotReady
from app.integrations import chat
from app.integrations.feedback_buttons import cited, mattermost_attachment
from app.integrations.messages import UNAVAILABLE, markdown_message, sources, usage
from app.reader.answer import Result

logger = logging.getLogger(__name__)


def configured(settings: SettingsDep) -> None:
    """404 until MATTERMOST_TOKEN is set."""
    if not settings.mattermost_token:
        raise HTTPException(404)


router = APIRouter(dependencies=[Depends(configured)])


def payload(body: bytes, content_type: str) -> dict[str, Any]:
    """Slash commands post a form; outgoing webhooks a form or JSON, as configured."""
    if content_type.startswith("application/json"):
        return chat.json_object(body, "request")
    return dict(chat.form(body))


def verify(settings: Settings, headers: Mapping[str, str], data: Mapping[str, Any]) -> None:
    """401 unless a token is presented and every token presented is ours."""
    assert settings.mattermost_token
    expected = settings.mattermost_token.encode()
    presented = []
    if "token" in data:
        presented.append(chat.field(data, "token"))
    if (header := headers.get("authorization")) is not None:
        scheme, _, token = header.partition(" ")
        presented.append(token.strip() if scheme.lower() == "token" else "")
    if not presented or not all(hmac.compare_digest(p.encode(), expected) for p in presented):
        logger.warning("Rejected a Mattermost request with a wrong or missing token")
        raise HTTPException(401, "Invalid Mattermost token.")


def question(data: Mapping[str, Any], max_chars: int) -> str:
    """The text, less the trigger word an outgoing webhook leaves at its start."""
    text = chat.field(data, "text").strip()
    trigger = chat.field(data, "trigger_word")
    if trigger and text.startswith(trigger):
        text = text[len(trigger) :]
    return chat.question(text, max_chars)


@router.post("/mattermost")
async def mattermost(
    request: Request, archive: ArchiveDep, settings: SettingsDep
) -> dict[str, Any]:
    """Answer in Markdown as {"response_type", "text"}."""
    body = await chat.read_body(request, settings.chat_max_body_bytes)
    data = payload(body, request.headers.get("content-type", ""))
    verify(settings, request.headers, data)
    text = question(data, settings.max_question_chars)
    visibility = "in_channel" if settings.mattermost_in_channel else "ephemeral"
    if not text:
        how = f"Type a question after {chat.field(data, 'command') or '/ask'}"
        return {"response_type": "ephemeral", "text": usage(how)}
    try:
        result = await chat.start_ask(archive, text, top_k=settings.default_top_k)
    except IndexNotReady:
        return {"response_type": "ephemeral", "text": UNAVAILABLE}
    except BadQuestion as exc:  # a filter token it cannot read
        return {"response_type": "ephemeral", "text": str(exc)}
    text = markdown_message(result, settings.public_base_url)
    return {"response_type": visibility, "text": text} | _buttons(result, settings)


def _buttons(result: Result, settings: Settings) -> dict[str, Any]:
    """Feedback buttons, one attachment per answer, posting to /integrations/mattermost/actions."""
    if not settings.chat_feedback:
        return {}
    assert settings.mattermost_token
    base = settings.public_base_url
    url = f"{base.rstrip('/')}/integrations/mattermost/actions"
    found = [c for s in sources(result, base) if (c := cited(result, s)) is not None]
    attachments = [
        mattermost_attachment(n, answer, url, settings.mattermost_token)
        for n, answer in enumerate(found, 1)
    ]
    return {"attachments": attachments} if attachments else {}
