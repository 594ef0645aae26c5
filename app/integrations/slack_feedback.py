"""Slack interactivity: the feedback buttons under answers, and the comment asked for after.

A click (block_actions) is stored at once and thanked through its response_url. After a
"wrong" verdict, with SLACK_BOT_TOKEN set, a dialog (a modal, views.open) asks what was wrong;
its submission (view_submission) adds the comment to the verdict already stored. Both arrive
signed like every Slack request, at the one interactivity URL.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse, Response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient
from starlette.concurrency import run_in_threadpool

from app.api import ArchiveDep, SettingsDep
from app.config import Settings
from app.errors import BadFeedback
from app.feedback_api import add_comment, take
from app.integrations import chat
from app.integrations.feedback_buttons import slack_click, thanks
from app.integrations.slack import configured, verify
from app.live import Archive

logger = logging.getLogger(__name__)

CALLBACK = "feedback_comment"  # the dialog's callback_id; its private_metadata is the id

router = APIRouter(prefix="/slack", dependencies=[Depends(configured)])


@router.post("/actions")
async def actions(
    request: Request, archive: ArchiveDep, settings: SettingsDep, background: BackgroundTasks
) -> Response:
    """Interactivity: a feedback button pressed, or the comment dialog sent."""
    body = await chat.read_body(request, settings.chat_max_body_bytes)
    verify(settings, body, request.headers)
    payload = chat.json_object(chat.form(body).get("payload", "").encode(), "payload")
    view = payload.get("view")
    if payload.get("type") == "view_submission" and isinstance(view, dict):
        return await _commented(archive, settings, view)
    click = slack_click(payload) if payload.get("type") == "block_actions" else None
    if click is None:
        return Response(status_code=200)  # another app's button, or a kind we do not use
    verdict, cited = click
    response_url = chat.field(payload, "response_url")
    try:
        stored = await run_in_threadpool(
            take, request, archive, settings, channel="slack", verdict=verdict, comment=None,
            cited=cited,
        )  # fmt: skip
    except BadFeedback as exc:
        background.add_task(_tell, response_url, f"That feedback was not stored: {exc}")
        return Response(status_code=200)
    background.add_task(_tell, response_url, thanks(verdict, cited))
    trigger = chat.field(payload, "trigger_id")
    if verdict != "right" and settings.slack_bot_token and trigger and stored.id:
        # The trigger expires 3 s after the click: opened right after the 200.
        background.add_task(_ask_for_comment, settings, trigger, stored.id)
    return Response(status_code=200)  # Slack wants its 200 within 3 s


async def _tell(response_url: str, text: str) -> None:
    """An ephemeral note to the person who pressed the button, under the answer."""
    if not response_url:
        return
    client = WebhookClient(response_url)
    try:
        await asyncio.to_thread(
            client.send, text=text, response_type="ephemeral", replace_original=False
        )
    except (SlackClientError, OSError) as exc:
        logger.warning("Slack response_url unreachable: %s", exc)


def comment_dialog(feedback_id: int, limit: int) -> dict[str, Any]:
    """The modal: one optional box; Skip closes it and the verdict stands alone."""
    box = {"type": "plain_text_input", "action_id": "comment", "multiline": True,
           "max_length": limit}  # fmt: skip
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": str(feedback_id),
        "title": {"type": "plain_text", "text": "What was wrong?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {"type": "input", "block_id": "comment", "optional": True, "element": box,
             "label": {"type": "plain_text", "text": "Comment (optional)"}},
        ],
    }  # fmt: skip


def _ask_for_comment(settings: Settings, trigger: str, feedback_id: int) -> None:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    view = comment_dialog(feedback_id, settings.max_feedback_comment_chars)
    try:
        client.views_open(trigger_id=trigger, view=view)
    except SlackApiError as exc:
        logger.warning("Slack views.open failed: %s", exc.response.get("error"))
    except (SlackClientError, OSError) as exc:
        logger.warning("Slack Web API unreachable: %s", exc)


async def _commented(archive: Archive, settings: Settings, view: dict[str, Any]) -> Response:
    """The dialog sent: its comment joins the verdict; a problem is shown in the dialog."""
    if view.get("callback_id") != CALLBACK:
        return Response(status_code=200)
    values = ((view.get("state") or {}).get("values") or {}).get("comment") or {}
    text = (values.get("comment") or {}).get("value") or ""
    try:
        feedback_id = int(chat.field(view, "private_metadata"))
        await run_in_threadpool(add_comment, archive, settings, feedback_id, str(text))
    except BadFeedback as exc:
        return JSONResponse({"response_action": "errors", "errors": {"comment": str(exc)}})
    except ValueError:
        logger.warning("Slack comment dialog without a feedback id")
    return Response(status_code=200)  # an empty 200 closes the dialog
