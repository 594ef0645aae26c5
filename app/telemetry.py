"""What the service tells its operators: JSON logs with a request id, and Prometheus metrics.

Every request gets an id (the caller's X-Request-ID if it is sane, else a new one), echoed in
the response and carried by every log line written while it is handled.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

logger = logging.getLogger(__name__)

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")
# The attributes every LogRecord has; anything else came in through `extra=` and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

router = APIRouter(include_in_schema=False)


# --- logs -----------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line; secrets the service knows are masked wherever they appear."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))

    def redact(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, "[redacted]")
        return _BEARER.sub(r"\1[redacted]", line)


def secrets_of(settings: Settings) -> list[str]:
    names = (
        "api_token",
        "slack_signing_secret",
        "slack_bot_token",
        "mattermost_token",
        "teams_webhook_secret",
    )
    return [value for name in names if (value := getattr(settings, name, None))]


def setup_logging(settings: Settings) -> None:
    """JSON lines on stderr for our loggers and uvicorn's; access lines come from RequestLog."""
    if not settings.log_json:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets_of(settings)))
    handler.set_name("newsroom-json")
    root = logging.getLogger()
    # Replace our own earlier handler and plain stream handlers (basicConfig); leave test
    # harness handlers (subclasses) alone.
    for old in list(root.handlers):
        if old.get_name() == "newsroom-json" or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


# --- metrics --------------------------------------------------------------------------------


class ArchiveCollector(Collector):
    """Index gauges read at scrape time from whatever index is being served."""

    def __init__(self, archive: Callable[[], Any]) -> None:
        self.archive = archive

    def collect(self) -> Iterator[Metric]:
        archive = self.archive()
        if archive is None or not archive.ready:
            return
        index = archive.reader.index
        yield GaugeMetricFamily(
            "newsroom_index_documents", "Articles in the served index.", value=len(index.files)
        )
        chunks = sum(int(f.get("chunks", 0)) for f in index.manifest.files.values())
        yield GaugeMetricFamily(
            "newsroom_index_chunks", "Chunks in the served index.", value=chunks
        )
        yield GaugeMetricFamily(
            "newsroom_index_built_timestamp_seconds",
            "When the served index was built (Unix time).",
            value=index.manifest.built_at,
        )


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self, archive: Callable[[], Any]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "newsroom_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsroom_http_request_duration_seconds",
            "Time to answer, by route.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.feedback = Counter(
            "newsroom_feedback",
            "Feedback stored on answers, by way in and verdict.",
            ["channel", "verdict"],
            registry=self.registry,
        )
        self.index = ArchiveCollector(archive)
        self.registry.register(self.index)

    def exposition(self) -> CollectorRegistry:
        """What /metrics shows: this process's counts, or with several server workers
        (app/serve.py), every worker's counts summed from their files."""
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(self.index)
        return registry


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    registry = request.app.state.metrics.exposition()
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


# --- per request ----------------------------------------------------------------------------


def route_of(scope: Scope) -> str:
    """The route template, not the path: a label per route, however many files or typos."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestLog:
    """Request id in and out, one access line per request, and the request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - began)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_of(scope)
        self.metrics.requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.latency.labels(route).observe(seconds)
        client = scope.get("client") or ("-", 0)
        logger.info(
            "%s %s %d %.1fms",
            scope["method"],
            scope["path"],
            status,
            seconds * 1000,
            extra={
                "status": status,
                "route": route,
                "ms": round(seconds * 1000, 1),
                "client": client[0],
            },
        )


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


def install(app: FastAPI) -> None:
    """Add last, so it runs first and sees every response (429s and 413s included)."""
    app.state.metrics = Metrics(lambda: getattr(app.state, "archive", None))
    app.add_middleware(RequestLog, metrics=app.state.metrics)
    app.include_router(router)
