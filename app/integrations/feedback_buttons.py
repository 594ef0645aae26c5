"""Feedback buttons under chat answers, and reading a click back: Slack, Mattermost, Teams.

Each button carries the answer's citation (app/feedback.py's token), never the answer text:
the click is checked against the index like any other feedback. Who clicked is not read.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from app.errors import BadFeedback
from app.feedback import LABELS, VERDICTS, Cited, from_token, token
from app.integrations.messages import SLACK_MAX_BLOCKS, Source, slack_message, sources
from app.reader.answer import Result

SLACK_VALUE_LIMIT = 2000  # characters in a Block Kit button's value
SLACK_ACTION_PREFIX = "feedback:"
TEAMS_KEY = "newsroom_feedback"  # marks an Action.Submit as ours in the activity's value
THANKS = "Thank you: “{label}” noted for {file} ¶{paragraph}."


def cited(result: Result, source: Source) -> Cited | None:
    """What a button under this source sends back; None when it has no citation."""
    c = source.citation
    if c is None:
        return None
    return Cited(result.question, c.file, c.paragraph, c.start, c.end, source.score)


def thanks(verdict: str, answer: Cited) -> str:
    return THANKS.format(label=LABELS[verdict], file=answer.file, paragraph=answer.paragraph)


# --- Slack: an actions block of three buttons under each answer -------------------------------


def slack_message_with_buttons(result: Result, base: str) -> dict[str, Any]:
    """slack_message with each answer's buttons right under its section."""
    message = slack_message(result, base)
    blocks = list(message["blocks"])
    first = 1 if result.no_answer else 0  # the "nothing answers that" line comes first
    shown = list(enumerate(sources(result, base), 1))
    for number, source in reversed(shown):
        answer = cited(result, source)
        actions = slack_actions(number, answer) if answer else None
        if actions is not None:
            blocks.insert(first + number, actions)
    return {**message, "blocks": blocks[:SLACK_MAX_BLOCKS]}


def slack_actions(number: int, answer: Cited) -> dict[str, Any] | None:
    value = token(answer)
    if len(value) > SLACK_VALUE_LIMIT:
        return None  # a question this long cannot ride in a button; the answer still shows
    buttons = [
        {
            "type": "button",
            "action_id": f"{SLACK_ACTION_PREFIX}{verdict}",
            "text": {"type": "plain_text", "text": LABELS[verdict]},
            "value": value,
            **({"style": "primary"} if verdict == "right" else {}),
        }
        for verdict in VERDICTS
    ]
    return {"type": "actions", "block_id": f"feedback-{number}", "elements": buttons}


def slack_click(payload: Mapping[str, Any]) -> tuple[str, Cited] | None:
    """The verdict and citation of a block_actions payload's feedback button, if it is one."""
    for action in payload.get("actions") or []:
        action_id = action.get("action_id", "") if isinstance(action, dict) else ""
        if action_id.startswith(SLACK_ACTION_PREFIX):
            verdict = action_id.removeprefix(SLACK_ACTION_PREFIX)
            return verdict, from_token(str(action.get("value", "")))
    return None


# --- Mattermost: attachment buttons whose context we sign ourselves ---------------------------


def _signature(secret: str, verdict: str, value: str) -> str:
    """Mattermost does not sign what it posts to a button's URL, so the context carries our
    own HMAC of its contents, keyed by MATTERMOST_TOKEN: a click we did not offer is refused."""
    message = f"{verdict}\n{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def mattermost_attachment(number: int, answer: Cited, url: str, secret: str) -> dict[str, Any]:
    value = token(answer)
    actions = [
        {
            # Mattermost wants action ids of letters and digits only.
            "id": f"{verdict.replace('_', '')}{number}",
            "name": LABELS[verdict],
            "integration": {
                "url": url,
                "context": {
                    "verdict": verdict,
                    "citation": value,
                    "signature": _signature(secret, verdict, value),
                },
            },
        }
        for verdict in VERDICTS
    ]
    return {"text": f"Was answer {number} right?", "actions": actions}


def mattermost_click(context: Mapping[str, Any], secret: str) -> tuple[str, Cited]:
    """The verdict and citation a signed context carries, or BadFeedback."""
    verdict, value = str(context.get("verdict", "")), str(context.get("citation", ""))
    signature = str(context.get("signature", ""))
    if not hmac.compare_digest(signature.encode(), _signature(secret, verdict, value).encode()):
        raise BadFeedback("This button was not made by this service (its signature is wrong).")
    return verdict, from_token(value)


def mattermost_state(secret: str, feedback_id: int) -> str:
    """What the comment dialog carries back: the verdict's id, signed like a button."""
    return f"{feedback_id}:{_signature(secret, 'comment', str(feedback_id))}"


def mattermost_comment_of(state: str, secret: str) -> int:
    """The verdict a dialog's state names, or BadFeedback if we did not sign it."""
    feedback_id, _, signature = state.partition(":")
    expected = _signature(secret, "comment", feedback_id)
    if not feedback_id.isdigit() or not hmac.compare_digest(signature, expected):
        raise BadFeedback("This dialog was not opened by this service.")
    return int(feedback_id)


# --- Teams: an Adaptive Card with Action.Submit buttons and one comment box --------------------


def teams_card(answers: list[Cited]) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    for number, answer in enumerate(answers, 1):
        body.append({"type": "TextBlock", "text": f"Was answer {number} right?", "wrap": True})
        submits = [
            {
                "type": "Action.Submit",
                "title": LABELS[verdict],
                "data": {TEAMS_KEY: token(answer), "verdict": verdict},
            }
            for verdict in VERDICTS
        ]
        body.append({"type": "ActionSet", "actions": submits})
    # Action.Submit sends every input of the card along, so one box serves every button.
    body.append(
        {"type": "Input.Text", "id": "comment", "placeholder": "Comment (optional)",
         "isMultiline": True, "maxLength": 1000}
    )  # fmt: skip
    card = {
        "type": "AdaptiveCard", "version": "1.2", "body": body,
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    }  # fmt: skip
    return {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}


def teams_click(activity: Mapping[str, Any]) -> tuple[str, str, Cited] | None:
    """Verdict, comment and citation of a submitted card, or None for an ordinary message."""
    value = activity.get("value")
    if not isinstance(value, dict) or TEAMS_KEY not in value:
        return None
    comment = value.get("comment")
    return (
        str(value.get("verdict", "")),
        comment if isinstance(comment, str) else "",
        from_token(str(value[TEAMS_KEY])),
    )
