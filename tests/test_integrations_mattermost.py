"""Mattermost: slash commands and outgoing webhooks with the shared token, real model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.integrations.messages import FILTERS_HELP
from app.main import create_app
from tests.integrations_support import MATTERMOST_TOKEN, PUBLIC, QUESTION

URL = "/integrations/mattermost"
AUTH = {"Authorization": f"Token {MATTERMOST_TOKEN}"}


@pytest.fixture(scope="module")
def client(settings: Settings, embedder) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={"mattermost_token": MATTERMOST_TOKEN, "public_base_url": PUBLIC}
    )
    with TestClient(create_app(configured, embedder=embedder)) as test_client:
        yield test_client


def slash(text: str = QUESTION, token: str = MATTERMOST_TOKEN) -> dict[str, str]:
    return {
        "token": token,
        "text": text,
        "command": "/ask",
        "channel_id": "c1",
        "user_id": "u1",
        "response_url": "https://chat.example/hooks/commands/x",
    }


def test_slash_command_answers_in_markdown(client: TestClient) -> None:
    response = client.post(URL, data=slash(), headers=AUTH)
    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("**") and "\n> " in reply["text"]
    assert "million" in reply["text"]
    assert f"¶10]({PUBLIC}/documents/" in reply["text"]


def test_slash_command_in_channel_when_configured(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.settings, "mattermost_in_channel", True)
    assert client.post(URL, data=slash(), headers=AUTH).json()["response_type"] == "in_channel"


def test_outgoing_webhook_json_without_its_trigger_word(client: TestClient) -> None:
    payload = {
        "token": MATTERMOST_TOKEN,
        "trigger_word": "#ask",
        "text": f"#ask {QUESTION}",
        "channel_name": "newsdesk",
        "user_name": "reporter",
    }
    reply = client.post(URL, json=payload).json()
    assert "million" in reply["text"]


def test_outgoing_webhook_form_is_answered(client: TestClient) -> None:
    form = {"token": MATTERMOST_TOKEN, "trigger_word": "#ask", "text": f"#ask {QUESTION}"}
    assert "million" in client.post(URL, data=form).json()["text"]


def test_empty_question_gets_a_usage_hint(client: TestClient) -> None:
    reply = client.post(URL, data=slash(text="  "), headers=AUTH).json()
    assert reply == {
        "response_type": "ephemeral",
        "text": "Type a question after /ask, e.g. “How much did Denmark pay Kosovo?”. "
        + FILTERS_HELP,
    }


@pytest.mark.parametrize(
    ("form_token", "header"),
    [
        ("wrong", AUTH),
        (MATTERMOST_TOKEN, {"Authorization": "Token wrong"}),
        (MATTERMOST_TOKEN, {"Authorization": f"Bearer {MATTERMOST_TOKEN}"}),
        ("wrong", {}),
        ("", {}),
        (None, {}),
    ],
)
def test_wrong_or_missing_token_is_refused(
    client: TestClient, form_token: str | None, header: dict[str, str]
) -> None:
    form = slash(token=form_token or "")
    if form_token is None:
        del form["token"]
    response = client.post(URL, data=form, headers=header)
    assert response.status_code == 401
    assert "million" not in response.text


def test_header_token_alone_is_enough(client: TestClient) -> None:
    form = slash()
    del form["token"]
    assert client.post(URL, data=form, headers=AUTH).status_code == 200


def test_oversized_body_is_refused(client: TestClient) -> None:
    response = client.post(URL, data=slash(text="x" * 70_000), headers=AUTH)
    assert response.status_code == 413


def test_chat_picks_its_answers_from_default_top_k(
    client: TestClient, settings: Settings, embedder
) -> None:
    """Two sources disagree on Denmark's payment; with one answer asked for, one is shown."""
    assert client.post(URL, data=slash(), headers=AUTH).json()["text"].count("](") == 2
    one = settings.model_copy(update={"mattermost_token": MATTERMOST_TOKEN, "default_top_k": 1})
    with TestClient(create_app(one, embedder=embedder)) as narrow:
        assert narrow.post(URL, data=slash(), headers=AUTH).json()["text"].count("](") == 1
