"""Teams: HMAC-signed outgoing webhooks, mentions stripped, duplicate activities answered once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.integrations.messages import TOO_SLOW
from app.main import create_app
from tests.integrations_support import (
    PUBLIC,
    QUESTION,
    TEAMS_SECRET,
    CountingEmbedder,
    teams_headers,
)

URL = "/integrations/teams"


@pytest.fixture(scope="module")
def model(embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture(scope="module")
def client(settings: Settings, model: CountingEmbedder) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={"teams_webhook_secret": TEAMS_SECRET, "public_base_url": PUBLIC}
    )
    with TestClient(create_app(configured, embedder=model)) as test_client:
        yield test_client


def activity(activity_id: str, text: str = f"<at>Ask</at>&nbsp;{QUESTION}") -> bytes:
    return json.dumps(
        {
            "type": "message",
            "id": activity_id,
            "text": text,
            "textFormat": "plain",
            "from": {"id": "29:1", "name": "Reporter"},
            "channelData": {"teamsTeamId": "19:x"},
        }
    ).encode()


def post(client: TestClient, body: bytes, headers: dict[str, str] | None = None):
    return client.post(
        URL, content=body, headers=teams_headers(body) if headers is None else headers
    )


def test_mention_is_answered_in_markdown(client: TestClient) -> None:
    response = post(client, activity("a1"))
    assert response.status_code == 200
    reply = response.json()
    assert reply["type"] == "message"
    assert reply["text"].startswith("**") and "million" in reply["text"]
    assert f"]({PUBLIC}/documents/" in reply["text"]


def test_mentions_and_markup_are_stripped_from_the_question(client: TestClient) -> None:
    body = activity("a2", f"<at>Archive Bot</at> <p>{QUESTION.replace(' ', '&nbsp;', 1)}</p>")
    assert "million" in post(client, body).json()["text"]


def test_empty_question_gets_a_usage_hint(client: TestClient) -> None:
    reply = post(client, activity("a3", "<at>Ask</at> ")).json()
    assert reply["text"].startswith("Mention me with a question")


@pytest.mark.parametrize(
    "problem", ["bad hmac", "missing", "tampered body", "other secret", "wrong scheme"]
)
def test_unverified_requests_are_refused(client: TestClient, problem: str) -> None:
    body = activity("a4")
    headers = teams_headers(body)
    if problem == "bad hmac":
        headers["Authorization"] = "HMAC " + "A" * 44
    elif problem == "missing":
        del headers["Authorization"]
    elif problem == "tampered body":
        body = body.replace(b"Denmark", b"Norway!")
    elif problem == "other secret":
        headers = teams_headers(body, secret="c29tZSBvdGhlciBzZWNyZXQ=")
    else:
        headers["Authorization"] = headers["Authorization"].replace("HMAC", "Bearer")
    response = post(client, body, headers)
    assert response.status_code == 401
    assert "million" not in response.text


def test_oversized_body_is_refused(client: TestClient) -> None:
    body = activity("a5", "x" * 70_000)
    assert post(client, body).status_code == 413


def test_a_redelivered_activity_gets_the_same_answer_without_more_work(
    client: TestClient, model: CountingEmbedder
) -> None:
    body = activity("a6")
    first = post(client, body).json()
    calls = model.calls
    assert post(client, body).json() == first
    assert model.calls == calls


def test_concurrent_duplicates_share_one_computation(
    client: TestClient, model: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "delay", 0.5)
    body = activity("a7")
    calls = model.calls
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: post(client, body).json(), range(2)))
    assert replies[0] == replies[1] and "million" in replies[0]["text"]
    assert model.calls == calls + 1


def test_a_slow_answer_is_kept_for_the_redelivery(
    client: TestClient, model: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.settings, "teams_answer_timeout", 0.05)
    monkeypatch.setattr(model, "delay", 0.3)
    body = activity("a8")
    assert post(client, body).json()["text"] == TOO_SLOW
    monkeypatch.setattr(client.app.state.settings, "teams_answer_timeout", 5.0)
    assert "million" in post(client, body).json()["text"]
