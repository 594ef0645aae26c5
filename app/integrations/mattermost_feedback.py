"""Mattermost: the feedback buttons under answers, and the comment dialog after a wrong one.

Mattermost signs nothing it posts to an integration, so every button's context and every
dialog's state carries our own HMAC under MATTERMOST_TOKEN (app/integrations/feedback_buttons.py),
checked before anything else. The dialog needs the Mattermost server's address
(MATTERMOST_URL): it is opened there with the click's trigger_id.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from starlette.concurrency import run_in_threadpool

from app.api import ArchiveDep, SettingsDep
from app.config import Settings
from app.errors import BadFeedback
from app.feedback_api import add_comment, take
from app.integrations import chat
from app.integrations.feedback_buttons import (
    mattermost_click,
    mattermost_comment_of,
    mattermost_state,
    thanks,
)
from app.integrations.mattermost import configured

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/mattermost", dependencies=[Depends(configured)])


@router.post("/actions")
async def actions(
    request: Request, archive: ArchiveDep, settings: SettingsDep, background: BackgroundTasks
) -> dict[str, str]:
    """A feedback button was pressed: stored, thanked in an ephemeral line."""
    body = await chat.read_body(request, settings.chat_max_body_bytes)
    data = chat.json_object(body, "action")
    context = data.get("context")
    assert settings.mattermost_token
    try:
        if not isinstance(context, dict):
            raise BadFeedback("The action carries no context.")
        verdict, answer = mattermost_click(context, settings.mattermost_token)
        stored = await run_in_threadpool(
            take, request, archive, settings, channel="mattermost", verdict=verdict,
            comment=None, cited=answer,
        )  # fmt: skip
    except BadFeedback as exc:
        logger.warning("Mattermost feedback refused: %s", exc)
        return {"ephemeral_text": f"That feedback was not stored: {exc}"}
    trigger = chat.field(data, "trigger_id")
    if verdict != "right" and settings.mattermost_url and trigger and stored.id:
        background.add_task(_ask_for_comment, settings, trigger, stored.id)
    return {"ephemeral_text": thanks(verdict, answer)}


def comment_dialog(settings: Settings, feedback_id: int) -> dict[str, Any]:
    assert settings.mattermost_token
    box = {"display_name": "Comment (optional)", "name": "comment", "type": "textarea",
           "optional": True, "max_length": settings.max_feedback_comment_chars}  # fmt: skip
    return {
        "callback_id": "feedback_comment", "title": "What was wrong?", "elements": [box],
        "submit_label": "Send", "notify_on_cancel": False,
        "state": mattermost_state(settings.mattermost_token, feedback_id),
    }  # fmt: skip


def _ask_for_comment(settings: Settings, trigger: str, feedback_id: int) -> None:
    """Runs after the reply, in a worker thread: the trigger is short-lived."""
    assert settings.mattermost_url
    url = f"{settings.mattermost_url.rstrip('/')}/api/v4/actions/dialogs/open"
    back = f"{settings.public_base_url.rstrip('/')}/integrations/mattermost/comments"
    body = {"trigger_id": trigger, "url": back, "dialog": comment_dialog(settings, feedback_id)}
    try:
        response = httpx.post(url, json=body, timeout=5)
    except httpx.HTTPError as exc:
        logger.warning("Mattermost unreachable for the comment dialog: %s", exc)
        return
    if response.status_code != 200:
        logger.warning("Mattermost refused the comment dialog: %s", response.status_code)


@router.post("/comments")
async def comments(request: Request, archive: ArchiveDep, settings: SettingsDep) -> dict[str, Any]:
    """The dialog sent: the comment joins its verdict; a problem is shown beside the box."""
    body = await chat.read_body(request, settings.chat_max_body_bytes)
    data = chat.json_object(body, "dialog submission")
    assert settings.mattermost_token
    submission = data.get("submission")
    text = submission.get("comment") if isinstance(submission, dict) else None
    try:
        feedback_id = mattermost_comment_of(chat.field(data, "state"), settings.mattermost_token)
        if data.get("cancelled") or not isinstance(text, str):
            return {}
        await run_in_threadpool(add_comment, archive, settings, feedback_id, text)
    except BadFeedback as exc:
        return {"errors": {"comment": str(exc)}}
    return {}
