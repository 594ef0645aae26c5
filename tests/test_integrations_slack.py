"""Slack: real signed requests against the real model, replies caught by a fake Slack API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.integrations_support import (
    PUBLIC,
    QUESTION,
    SLACK_SECRET,
    SLACK_TOKEN,
    CountingEmbedder,
    FakeSlack,
    fake_slack,
    slack_headers,
)

COMMANDS = "/integrations/slack/commands"
EVENTS = "/integrations/slack/events"


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture(scope="module")
def client(settings: Settings, embedder, slack: FakeSlack) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={
            "slack_signing_secret": SLACK_SECRET,
            "slack_bot_token": SLACK_TOKEN,
            "slack_api_url": f"{slack.url}/api/",
            "public_base_url": PUBLIC,
        }
    )
    with TestClient(create_app(configured, embedder=CountingEmbedder(embedder))) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def clear(slack: FakeSlack) -> None:
    slack.posts.clear()


def command(client: TestClient, text: str = QUESTION, **fields: str) -> tuple[bytes, dict]:
    body = urlencode(
        {
            "command": "/ask",
            "text": text,
            "user_id": "U1",
            "channel_id": "C1",
            "response_url": fields.pop("response_url", "http://127.0.0.1:9/unused"),
            **fields,
        }
    ).encode()
    headers = {**slack_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    return body, headers


def mention(event_id: str = "Ev1", **event: str) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "authorizations": [{"user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "app_mention",
                "user": "U1",
                "channel": "C1",
                "ts": "1700000000.000100",
                "text": f"<@UBOT> {QUESTION}",
                **event,
            },
        }
    ).encode()


def post_event(client: TestClient, body: bytes, **headers: str):
    return client.post(
        EVENTS,
        content=body,
        headers={**slack_headers(body), "Content-Type": "application/json", **headers},
    )


def test_command_answers_inline_with_answer_quote_and_link(client: TestClient) -> None:
    body, headers = command(client)
    response = client.post(COMMANDS, content=body, headers=headers)
    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    first = reply["blocks"][0]["text"]["text"]
    assert first.startswith("*") and "\n>" in first
    assert f"<{PUBLIC}/documents/" in first and "?hl=" in first and "¶" in first
    assert "million" in reply["text"]


def test_command_shows_each_disagreeing_source(client: TestClient) -> None:
    body, headers = command(client)
    reply = client.post(COMMANDS, content=body, headers=headers).json()["blocks"]
    blocks = [b for b in reply if b["type"] == "section"]  # each answer's buttons follow it
    links = {b["text"]["text"].rsplit("|", 1)[1] for b in blocks}
    assert len(blocks) >= 2 and len(links) == len(blocks)


def test_command_replies_in_channel_when_configured(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.settings, "slack_in_channel", True)
    body, headers = command(client)
    assert client.post(COMMANDS, content=body, headers=headers).json()["response_type"] == (
        "in_channel"
    )


def test_empty_command_gets_a_usage_hint(client: TestClient) -> None:
    body, headers = command(client, text="   ")
    reply = client.post(COMMANDS, content=body, headers=headers).json()
    assert reply["response_type"] == "ephemeral"
    assert "Type a question after /ask" in reply["text"]


def test_slow_command_is_acknowledged_then_answered_at_response_url(
    client: TestClient, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.settings, "slack_answer_timeout", 0.0)
    body, headers = command(client, response_url=f"{slack.url}/response/T1/abc")
    response = client.post(COMMANDS, content=body, headers=headers)
    assert response.status_code == 200
    assert "Looking in the archive" in response.json()["text"]
    slack.wait(1)
    [posted] = slack.to("/response/T1/abc")
    assert posted.body["response_type"] == "ephemeral"
    assert "million" in posted.body["text"]
    assert posted.body["blocks"][0]["type"] == "section"


@pytest.mark.parametrize(
    "problem",
    [
        "bad signature",
        "stale timestamp",
        "missing headers",
        "tampered body",
        "other secret",
        "junk timestamp",
    ],
)
def test_command_refuses_unverified_requests(client: TestClient, problem: str) -> None:
    body, headers = command(client)
    if problem == "bad signature":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif problem == "stale timestamp":
        headers = {**headers, **slack_headers(body, at=time.time() - 301)}
    elif problem == "missing headers":
        del headers["X-Slack-Signature"], headers["X-Slack-Request-Timestamp"]
    elif problem == "tampered body":
        body = body.replace(b"Denmark", b"Sweden")
    elif problem == "other secret":
        headers = {**headers, **slack_headers(body, secret="not-the-secret")}
    else:
        headers["X-Slack-Request-Timestamp"] = "yesterday"
    response = client.post(COMMANDS, content=body, headers=headers)
    assert response.status_code == 401
    assert "million" not in response.text


def test_oversized_body_is_refused_before_verifying(client: TestClient) -> None:
    body, headers = command(client, text="x" * 70_000)
    assert client.post(COMMANDS, content=body, headers=headers).status_code == 413


def test_ssl_check_answers_200(client: TestClient) -> None:
    assert client.get(COMMANDS, params={"ssl_check": "1"}).status_code == 200
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post(COMMANDS, content=b"ssl_check=1&token=x", headers=form).status_code == 200


def test_url_verification_returns_the_challenge(client: TestClient) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aB"}).encode()
    assert post_event(client, body).json() == {"challenge": "3eZbrw1aB"}


def test_mention_is_answered_in_its_thread(client: TestClient, slack: FakeSlack) -> None:
    response = post_event(client, mention("EvA"))
    assert response.status_code == 200
    slack.wait(1)
    [posted] = slack.to("/api/chat.postMessage")
    assert posted.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    assert posted.body["channel"] == "C1"
    assert posted.body["thread_ts"] == "1700000000.000100"
    assert "million" in posted.body["text"]
    assert f"<{PUBLIC}/documents/" in json.dumps(posted.body["blocks"])


def test_mention_inside_a_thread_replies_to_that_thread(
    client: TestClient, slack: FakeSlack
) -> None:
    post_event(client, mention("EvB", thread_ts="1699999999.000001"))
    slack.wait(1)
    assert slack.to("/api/chat.postMessage")[0].body["thread_ts"] == "1699999999.000001"


def test_replayed_event_gets_no_second_reply(client: TestClient, slack: FakeSlack) -> None:
    body = mention("EvC")
    assert post_event(client, body).status_code == 200
    slack.wait(1)
    retry = post_event(
        client, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry.status_code == 200
    time.sleep(0.2)
    assert len(slack.to("/api/chat.postMessage")) == 1


def test_bot_messages_are_ignored(client: TestClient, slack: FakeSlack) -> None:
    post_event(client, mention("EvD", bot_id="B1"))
    post_event(client, mention("EvE", user="UBOT"))
    time.sleep(0.2)
    assert slack.posts == []


def test_empty_mention_gets_a_usage_hint(client: TestClient, slack: FakeSlack) -> None:
    post_event(client, mention("EvF", text="<@UBOT>"))
    slack.wait(1)
    assert "Mention me with a question" in slack.posts[0].body["text"]


def test_unsigned_event_is_refused_and_not_answered(client: TestClient, slack: FakeSlack) -> None:
    body = mention("EvG")
    response = client.post(EVENTS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    time.sleep(0.2)
    assert slack.posts == []
    # Not remembered either: the genuine delivery still gets its answer.
    post_event(client, body)
    slack.wait(1)
    assert len(slack.posts) == 1
