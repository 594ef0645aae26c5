"""Helpers for the chat integration tests: signed requests, a fake Slack, a counting model."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from app.archive.embed import Embedder

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TOKEN = "xoxb-test-token"
MATTERMOST_TOKEN = "mm-token-123"
TEAMS_SECRET = base64.b64encode(b"teams shared secret, 32 bytes!!!").decode()
PUBLIC = "https://qa.newsroom.example"
QUESTION = "How much did Denmark pay Kosovo?"


def slack_headers(body: bytes, *, secret: str = SLACK_SECRET, at: float | None = None) -> dict:
    """Headers as Slack signs them: v0= + hex HMAC-SHA256 of v0:{timestamp}:{body}."""
    timestamp = str(int(time.time() if at is None else at))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def teams_headers(body: bytes, *, secret: str = TEAMS_SECRET) -> dict:
    """As Teams signs an outgoing webhook: base64 HMAC-SHA256 keyed by the decoded secret."""
    digest = hmac.new(base64.b64decode(secret), body, hashlib.sha256).digest()
    return {
        "Authorization": "HMAC " + base64.b64encode(digest).decode(),
        "Content-Type": "application/json",
    }


class CountingEmbedder:
    """The real model, counting questions and optionally slowed, to see work done twice."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name = model.name
        self.dim = model.dim
        self.calls = 0
        self.delay = 0.0

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        time.sleep(self.delay)
        return self.model.encode(texts)


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class FakeSlack:
    """A Slack Web API on loopback: records chat.postMessage and response_url posts."""

    url: str
    posts: list[Posted] = field(default_factory=list)

    def to(self, path: str) -> list[Posted]:
        return [p for p in self.posts if p.path == path]

    def wait(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()}
            fake.posts.append(Posted(self.path, dict(self.headers), body))
            reply = json.dumps({"ok": True, "ts": "1700000000.000200"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
