"""Abuse and exposure: rate limits, body limits, headers, CORS, request ids, logs, metrics."""

from __future__ import annotations

import io
import json
import logging
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.archive.embed import Embedder
from app.config import Settings
from app.main import create_app
from app.security import is_limited
from app.telemetry import JsonFormatter
from tests.servers import ROOT, TOKEN


def app_client(settings: Settings, embedder: Embedder, **changes: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), embedder=embedder))


@pytest.fixture(scope="module")
def strict(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """Tight limits, CORS for one origin, and a token (no writes happen here)."""
    changes = {
        "rate_limit_per_minute": 6, "rate_limit_burst": 3, "max_body_bytes": 1000,
        "cors_origins": ["https://desk.example"], "api_token": TOKEN,
    }  # fmt: skip
    with app_client(settings, embedder, **changes) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "query", "limited"),
    [
        ("/ask", b"q=x", True),
        ("/", b"q=Who+pays", True),
        ("/", b"", False),
        ("/integrations/slack/commands", b"", True),
        ("/feedback", b"", True),
        ("/feedback/form", b"", True),
        ("/healthz", b"", False),
        ("/documents/a.txt", b"hl=2", False),
        ("/metrics", b"", False),
    ],
)
def test_only_the_routes_that_answer_questions_are_rate_limited(
    path: str, query: bytes, limited: bool
) -> None:
    assert is_limited({"path": path, "query_string": query}) is limited


def test_asking_too_often_is_429_with_retry_after(strict: TestClient) -> None:
    statuses = [strict.get("/ask", params={"q": "Who pays Kosovo?"}).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
    response = strict.post("/ask", json={"question": "Who pays Kosovo?"})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "Too many requests" in response.json()["error"]
    assert strict.get("/healthz").status_code == 200, "cheap reads are not limited"


def test_an_oversized_body_is_413(strict: TestClient) -> None:
    response = strict.post("/ask", content=b"{" + b" " * 5000 + b"}", headers={
        "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413


def test_html_pages_carry_a_csp_and_forbid_framing(client: TestClient) -> None:
    response = client.get("/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_json_responses_are_nosniff_without_a_page_policy(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_cors_is_off_unless_origins_are_configured(client: TestClient, strict: TestClient) -> None:
    origin = {"Origin": "https://desk.example"}
    assert "access-control-allow-origin" not in client.get("/healthz", headers=origin).headers
    allowed = strict.get("/healthz", headers=origin).headers
    assert allowed["access-control-allow-origin"] == "https://desk.example"
    other = strict.get("/healthz", headers={"Origin": "https://evil.example"}).headers
    assert "access-control-allow-origin" not in other


def test_request_id_is_echoed_or_made_up(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers[
        "x-request-id"] == "abc-123"  # fmt: skip
    made_up = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 80})
    assert len(made_up.headers["x-request-id"]) == 32


def test_logs_are_json_with_the_request_id_and_no_secrets(strict: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter([TOKEN]))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}x", "X-Request-ID": "req-42"}
        strict.delete("/documents/nope.txt", headers=headers)
        logging.getLogger("app.test").warning("token was %s", TOKEN)
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in lines if e.get("route") == "/documents/{file}"]
    assert access and access[0]["request_id"] == "req-42" and access[0]["status"] == 401
    assert TOKEN not in stream.getvalue()
    assert any("[redacted]" in e["message"] for e in lines)


def test_formatter_masks_bearer_tokens_it_was_not_told_about() -> None:
    record = logging.makeLogRecord({"msg": "got Authorization: Bearer s3cr3t-value", "args": ()})
    line = json.loads(JsonFormatter([]).format(record))
    assert "s3cr3t" not in line["message"]


def test_metrics_count_requests_by_route_and_describe_the_index(client: TestClient) -> None:
    client.get("/documents/no-such-file.txt")
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'newsroom_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/documents/{file}",status="404"' in text
    assert "newsroom_http_request_duration_seconds_bucket" in text
    assert "newsroom_index_documents 2.0" in text
    assert "newsroom_index_chunks" in text and "newsroom_index_built_timestamp_seconds" in text


def test_the_starlette_pin_admits_only_releases_with_the_body_limit_middleware() -> None:
    """RequestBodyLimitMiddleware came with Starlette 1.6.0; an older one fails at import."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "starlette"]
    assert len(pins) == 1
    assert pins[0].specifier.contains(version("starlette"))
    assert not pins[0].specifier.contains("1.5.1") and not pins[0].specifier.contains("2.0")
