"""Feedback buttons in chat: Slack (signed block_actions), Mattermost (our signed context),
Teams (Action.Submit), each click stored with the answer's citation and nothing of the user."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from app import feedback_store
from app.archive.embed import Embedder
from app.config import Settings
from app.feedback import from_token
from app.main import create_app
from tests.integrations_support import (
    MATTERMOST_TOKEN,
    PUBLIC,
    QUESTION,
    SLACK_SECRET,
    SLACK_TOKEN,
    TEAMS_SECRET,
    FakeSlack,
    fake_slack,
    slack_headers,
    teams_headers,
)
from tests.servers import AUTH, make_archive, start_server

USER = "U0SECRETUSER"  # what the platforms say about who clicked; it must not be stored


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    return make_archive(tmp_path_factory.mktemp("chat-feedback"), embedder)


@pytest.fixture(scope="module")
def client(index_dir: Path, embedder: Embedder, slack: FakeSlack) -> Iterator[TestClient]:
    settings = Settings(
        index_dir=index_dir, corpus_dir=index_dir.parent / "corpus", public_base_url=PUBLIC,
        slack_signing_secret=SLACK_SECRET, slack_bot_token=SLACK_TOKEN,
        slack_api_url=f"{slack.url}/api/", mattermost_token=MATTERMOST_TOKEN,
        mattermost_url=slack.url,  # the fake answers Mattermost's dialogs/open too
        teams_webhook_secret=TEAMS_SECRET,
    )  # fmt: skip
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


def stored(index_dir: Path) -> list[dict]:
    return [json.loads(f.as_json()) for f in feedback_store.rows(index_dir)]


def signed_form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(fields).encode()
    return body, {**slack_headers(body), "Content-Type": "application/x-www-form-urlencoded"}


# --- Slack -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slack_answer(client: TestClient) -> dict:
    body, headers = signed_form({"command": "/ask", "text": QUESTION, "user_id": USER})
    return client.post("/integrations/slack/commands", content=body, headers=headers).json()


def test_each_slack_answer_has_its_buttons_under_it(slack_answer: dict) -> None:
    blocks = slack_answer["blocks"]
    assert blocks[0]["type"] == "section" and blocks[1]["type"] == "actions"
    buttons = blocks[1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Right", "Wrong citation", "Wrong answer"]
    cited = from_token(buttons[0]["value"])
    assert cited.question == QUESTION
    assert f"{cited.file} ¶{cited.paragraph}" in blocks[0]["text"]["text"].replace("¦", "|")


def click(button: dict, response_url: str) -> dict:
    return {
        "type": "block_actions",
        "user": {"id": USER, "username": "reporter", "team_id": "T1"},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": response_url,
        "actions": [{"action_id": button["action_id"], "block_id": "feedback-1",
                     "value": button["value"], "type": "button", "action_ts": "1.2"}],
    }  # fmt: skip


def test_a_slack_click_is_stored_and_thanked_at_response_url(
    client: TestClient, index_dir: Path, slack: FakeSlack, slack_answer: dict
) -> None:
    button = slack_answer["blocks"][1]["elements"][2]  # Wrong answer
    payload = click(button, f"{slack.url}/actions/T1/x")
    body, headers = signed_form({"payload": json.dumps(payload)})
    response = client.post("/integrations/slack/actions", content=body, headers=headers)
    assert response.status_code == 200
    slack.wait(1)
    [told] = slack.to("/actions/T1/x")
    assert told.body["response_type"] == "ephemeral" and told.body["replace_original"] is False
    assert "Thank you: “Wrong answer”" in told.body["text"]
    last = stored(index_dir)[-1]
    assert (last["channel"], last["verdict"], last["question"]) == (
        "slack", "wrong_answer", QUESTION,
    )  # fmt: skip
    assert "million" in last["answer"]
    assert USER not in json.dumps(stored(index_dir))


def press(client: TestClient, slack: FakeSlack, button: dict) -> dict:
    """Press a button; returns the comment dialog Slack was asked to open (or {})."""
    slack.posts.clear()
    body, headers = signed_form({"payload": json.dumps(click(button, f"{slack.url}/r"))})
    assert client.post("/integrations/slack/actions", content=body, headers=headers).is_success
    slack.wait(2, timeout=3)
    opened = slack.to("/api/views.open")
    if not opened:
        return {}
    assert opened[0].body["trigger_id"] == click(button, "")["trigger_id"]
    return opened[0].body["view"]


def submit(client: TestClient, view: dict, comment: str):  # type: ignore[no-untyped-def]
    state = {"values": {"comment": {"comment": {"type": "plain_text_input", "value": comment}}}}
    payload = {"type": "view_submission", "user": {"id": USER}, "view": {**view, "state": state}}
    body, headers = signed_form({"payload": json.dumps(payload)})
    return client.post("/integrations/slack/actions", content=body, headers=headers)


def test_a_wrong_verdict_in_slack_asks_for_a_comment_and_keeps_it(
    client: TestClient, index_dir: Path, slack: FakeSlack, slack_answer: dict
) -> None:
    view = press(client, slack, slack_answer["blocks"][1]["elements"][1])  # Wrong citation
    assert view["callback_id"] == "feedback_comment"
    assert view["blocks"][0]["element"]["max_length"] == 1000
    last = stored(index_dir)[-1]
    assert view["private_metadata"] == str(last["id"]) and last["comment"] == ""
    response = submit(client, view, "the figure is from the other article")
    assert response.status_code == 200 and response.content == b""
    assert stored(index_dir)[-1]["comment"] == "the figure is from the other article"
    submit(client, view, "a second try")  # a verdict's comment is given once
    assert stored(index_dir)[-1]["comment"] == "the figure is from the other article"


def test_an_oversized_slack_comment_is_shown_in_the_dialog(
    client: TestClient, slack: FakeSlack, slack_answer: dict
) -> None:
    view = press(client, slack, slack_answer["blocks"][1]["elements"][2])
    reply = submit(client, view, "x" * 1001).json()
    assert reply["response_action"] == "errors"
    assert "limited to 1000" in reply["errors"]["comment"]


def test_a_right_verdict_in_slack_asks_nothing_more(
    client: TestClient, slack: FakeSlack, slack_answer: dict
) -> None:
    assert press(client, slack, slack_answer["blocks"][1]["elements"][0]) == {}


def test_an_unsigned_slack_click_is_refused_and_not_stored(
    client: TestClient, index_dir: Path, slack_answer: dict
) -> None:
    before = len(stored(index_dir))
    payload = click(slack_answer["blocks"][1]["elements"][0], "http://127.0.0.1:9/x")
    body, headers = signed_form({"payload": json.dumps(payload)})
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    response = client.post("/integrations/slack/actions", content=body, headers=headers)
    assert response.status_code == 401
    assert len(stored(index_dir)) == before


def test_a_forged_slack_button_is_answered_with_the_reason(
    client: TestClient, index_dir: Path, slack: FakeSlack
) -> None:
    slack.posts.clear()
    forged = {
        "action_id": "feedback:right",
        "value": json.dumps([QUESTION, "nope.txt", 1, 0, 2, 1]),
    }
    body, headers = signed_form({"payload": json.dumps(click(forged, f"{slack.url}/forged"))})
    assert (
        client.post("/integrations/slack/actions", content=body, headers=headers).status_code == 200
    )
    slack.wait(1)
    assert "not stored: No article named 'nope.txt'" in slack.to("/forged")[0].body["text"]


def test_a_slack_payload_that_is_not_json_is_a_400(client: TestClient) -> None:
    body, headers = signed_form({"payload": "{not json"})
    response = client.post("/integrations/slack/actions", content=body, headers=headers)
    assert response.status_code == 400 and "payload" in response.json()["error"]


# --- Mattermost ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mattermost_answer(client: TestClient) -> dict:
    fields = {"token": MATTERMOST_TOKEN, "text": QUESTION, "command": "/ask", "user_id": USER}
    return client.post("/integrations/mattermost", data=fields).json()


def test_each_mattermost_answer_has_buttons_to_our_actions_url(mattermost_answer: dict) -> None:
    first = mattermost_answer["attachments"][0]
    assert [a["name"] for a in first["actions"]] == ["Right", "Wrong citation", "Wrong answer"]
    assert all(a["id"].isalnum() for a in first["actions"])
    integration = first["actions"][0]["integration"]
    assert integration["url"] == f"{PUBLIC}/integrations/mattermost/actions"
    assert MATTERMOST_TOKEN not in json.dumps(mattermost_answer)


def test_a_mattermost_click_is_stored(
    client: TestClient, index_dir: Path, mattermost_answer: dict
) -> None:
    context = mattermost_answer["attachments"][0]["actions"][1]["integration"]["context"]
    action = {"user_id": USER, "user_name": "reporter", "post_id": "p1", "context": context}
    reply = client.post("/integrations/mattermost/actions", json=action).json()
    assert reply["ephemeral_text"].startswith("Thank you: “Wrong citation”")
    last = stored(index_dir)[-1]
    assert (last["channel"], last["verdict"]) == ("mattermost", "wrong_citation")
    assert USER not in json.dumps(last)


def test_a_mattermost_click_with_a_changed_context_is_refused(
    client: TestClient, index_dir: Path, mattermost_answer: dict
) -> None:
    before = len(stored(index_dir))
    context = dict(mattermost_answer["attachments"][0]["actions"][1]["integration"]["context"])
    context["verdict"] = "right"  # the signature was made for wrong_citation
    reply = client.post("/integrations/mattermost/actions", json={"context": context}).json()
    assert "signature is wrong" in reply["ephemeral_text"]
    assert len(stored(index_dir)) == before


def test_a_wrong_verdict_in_mattermost_opens_a_comment_dialog_whose_comment_is_kept(
    client: TestClient, index_dir: Path, slack: FakeSlack, mattermost_answer: dict
) -> None:
    slack.posts.clear()
    context = mattermost_answer["attachments"][0]["actions"][2]["integration"]["context"]
    action = {"user_id": USER, "trigger_id": "mm-trigger-1", "context": context}
    assert "Thank you" in client.post("/integrations/mattermost/actions", json=action).text
    slack.wait(1)
    [opened] = slack.to("/api/v4/actions/dialogs/open")
    assert opened.body["trigger_id"] == "mm-trigger-1"
    assert opened.body["url"] == f"{PUBLIC}/integrations/mattermost/comments"
    state = opened.body["dialog"]["state"]
    submission = {
        "type": "dialog_submission",
        "callback_id": "feedback_comment",
        "state": state,
        "user_id": USER,
        "submission": {"comment": "wrong year"},
        "cancelled": False,
    }
    assert client.post("/integrations/mattermost/comments", json=submission).json() == {}
    last = stored(index_dir)[-1]
    assert (last["verdict"], last["comment"]) == ("wrong_answer", "wrong year")
    forged = submission | {"state": "1:" + "0" * 64}
    refused = client.post("/integrations/mattermost/comments", json=forged).json()
    assert "not opened by this service" in refused["errors"]["comment"]


# --- Teams -----------------------------------------------------------------------------------


def teams(client: TestClient, activity: dict) -> dict:
    body = json.dumps(activity).encode()
    return client.post("/integrations/teams", content=body, headers=teams_headers(body)).json()


def test_a_teams_answer_carries_a_card_whose_submit_is_stored(
    client: TestClient, index_dir: Path
) -> None:
    reply = teams(client, {"type": "message", "id": "t1", "text": f"<at>Ask</at> {QUESTION}"})
    card = reply["attachments"][0]["content"]
    assert reply["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    submit = card["body"][1]["actions"][0]
    assert submit["type"] == "Action.Submit" and submit["title"] == "Right"
    assert any(item.get("id") == "comment" for item in card["body"])
    # Teams posts the button's data with the card's inputs as the activity's value.
    value = {**submit["data"], "comment": "checked against the print edition"}
    thanked = teams(client, {"type": "message", "id": "t2", "from": {"id": USER}, "value": value})
    assert thanked["text"].startswith("Thank you: “Right”")
    last = stored(index_dir)[-1]
    assert (last["channel"], last["verdict"], last["comment"]) == (
        "teams", "right", "checked against the print edition",
    )  # fmt: skip
    assert USER not in json.dumps(last)


def test_a_teams_submit_with_an_oversized_comment_says_so(client: TestClient) -> None:
    reply = teams(client, {"type": "message", "id": "t3", "text": QUESTION})
    data = reply["attachments"][0]["content"]["body"][1]["actions"][0]["data"]
    refused = teams(client, {"type": "message", "value": {**data, "comment": "x" * 1001}})
    assert "not stored" in refused["text"] and "limited to 1000" in refused["text"]


def test_buttons_can_be_turned_off(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client.app.state.settings, "chat_feedback", False)
    body, headers = signed_form({"command": "/ask", "text": QUESTION})
    blocks = client.post("/integrations/slack/commands", content=body, headers=headers).json()
    assert all(b["type"] == "section" for b in blocks["blocks"])


def test_slack_feedback_over_a_real_server_lands_in_the_export(
    index_dir: Path, slack: FakeSlack
) -> None:
    """uvicorn in its own process: a signed /ask, its button pressed, the verdict exported."""
    server = start_server(index_dir, SLACK_SIGNING_SECRET=SLACK_SECRET)
    try:
        with server.client() as http:
            body, headers = signed_form({"command": "/ask", "text": QUESTION, "user_id": USER})
            reply = http.post("/integrations/slack/commands", content=body, headers=headers)
            button = reply.json()["blocks"][1]["elements"][0]
            slack.posts.clear()
            payload = json.dumps(click(button, f"{slack.url}/real"))
            body, headers = signed_form({"payload": payload})
            assert http.post(
                "/integrations/slack/actions", content=body, headers=headers
            ).is_success
            slack.wait(1)
            assert "Thank you: “Right”" in slack.to("/real")[0].body["text"]
            lines = http.get("/feedback", headers=AUTH).text.splitlines()
        last = json.loads(lines[-1])
        assert (last["channel"], last["verdict"], last["question"]) == ("slack", "right", QUESTION)
    finally:
        server.stop()
