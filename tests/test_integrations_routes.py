"""Which chat routes are on, what they say without an index, and the Slack manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from app.config import Settings
from app.integrations.messages import UNAVAILABLE
from app.main import create_app
from tests.integrations_support import (
    MATTERMOST_TOKEN,
    QUESTION,
    SLACK_SECRET,
    TEAMS_SECRET,
    slack_headers,
    teams_headers,
)

MANIFEST = "slack-app-manifest.yaml"
ROUTES = [
    ("get", "/integrations/slack/commands?ssl_check=1"),
    ("post", "/integrations/slack/commands"),
    ("post", "/integrations/slack/events"),
    ("post", "/integrations/mattermost"),
    ("post", "/integrations/teams"),
]


def test_chat_routes_answer_404_until_configured(settings: Settings, embedder) -> None:
    off = settings.model_copy(
        update={
            "slack_signing_secret": None,
            "mattermost_token": None,
            "teams_webhook_secret": None,
        }
    )
    with TestClient(create_app(off, embedder=embedder)) as client:
        for method, url in ROUTES:
            response = client.request(method, url, content=b"{}", headers=slack_headers(b"{}"))
            assert response.status_code == 404, url
            assert "error" in response.json()


@pytest.mark.parametrize(
    "secret", ["slack_signing_secret", "mattermost_token", "teams_webhook_secret"]
)
def test_one_secret_turns_on_only_its_own_routes(settings: Settings, embedder, secret: str) -> None:
    off = {"slack_signing_secret": None, "mattermost_token": None, "teams_webhook_secret": None}
    one = settings.model_copy(update={**off, secret: "c2VjcmV0"})
    with TestClient(create_app(one, embedder=embedder)) as client:
        found = {url for method, url in ROUTES if client.request(method, url).status_code != 404}
    expected = {
        "slack_signing_secret": "/integrations/slack/",
        "mattermost_token": "mattermost",
        "teams_webhook_secret": "teams",
    }[secret]
    assert found and all(expected in url for url in found)


def test_slack_manifest_points_at_the_slack_routes() -> None:
    manifest = yaml.safe_load((Path(__file__).parent.parent / "docs" / MANIFEST).read_text())
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/ask"
    assert command["url"].endswith("/integrations/slack/commands")
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"].endswith("/integrations/slack/events")
    assert events["bot_events"] == ["app_mention"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {"commands", "app_mentions:read", "chat:write"}


def test_chat_says_plainly_when_the_archive_is_not_ready(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    empty = settings.model_copy(
        update={
            "index_dir": tmp_path / "no-index",
            "slack_signing_secret": SLACK_SECRET,
            "mattermost_token": MATTERMOST_TOKEN,
            "teams_webhook_secret": TEAMS_SECRET,
        }
    )
    form = f"command=%2Fask&text={QUESTION}".encode()
    activity = json.dumps({"type": "message", "id": "n1", "text": QUESTION}).encode()
    with TestClient(create_app(empty, embedder=embedder)) as client:
        slack = client.post(
            "/integrations/slack/commands",
            content=form,
            headers={**slack_headers(form), "Content-Type": "application/x-www-form-urlencoded"},
        )
        mattermost = client.post(
            "/integrations/mattermost", data={"token": MATTERMOST_TOKEN, "text": QUESTION}
        )
        teams = client.post(
            "/integrations/teams", content=activity, headers=teams_headers(activity)
        )
    assert slack.status_code == mattermost.status_code == teams.status_code == 200
    assert slack.json()["text"] == mattermost.json()["text"] == teams.json()["text"] == UNAVAILABLE
