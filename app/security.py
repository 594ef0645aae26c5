"""Who may write, how often anyone may ask, and the headers that keep pages from being abused.

Pure ASGI middleware (no BaseHTTPMiddleware): it sees every response, streamed or not, and adds
no task per request.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.errors import Unauthorized, WritesDisabled

PAGE_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
# FastAPI's /docs and /redoc load their script and styles from a CDN and start with inline JS.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; worker-src 'self' blob:; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
LIMITED_PREFIXES = ("/integrations/",)
LIMITED_PATHS = ("/ask",)

_bearer = HTTPBearer(auto_error=False, description="The API_TOKEN the service was started with.")


# --- writers --------------------------------------------------------------------------------


def require_writer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need `Authorization: Bearer <API_TOKEN>`; with no token configured, none pass."""
    settings: Settings = request.app.state.settings
    if not settings.api_token:
        raise WritesDisabled("Writing to the archive is disabled: no API_TOKEN is configured.")
    given = credentials.credentials if credentials else ""
    # compare_digest takes as long for a near miss as for a far one.
    if not hmac.compare_digest(given.encode(), settings.api_token.encode()):
        raise Unauthorized("Writing needs the header Authorization: Bearer <API_TOKEN>.")


WriterDep = Depends(require_writer)


# --- rate limit -----------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per client: `burst` requests at once, refilled at `per_minute`."""

    MAX_CLIENTS = 10_000

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str) -> float:
        """0 if the client may go ahead now, else the seconds until it may."""
        now = self.clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[client] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        """Bound the memory a crowd of addresses can take: drop buckets that refilled."""
        if len(self._buckets) < self.MAX_CLIENTS:
            return
        full = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.stamp < full}


def is_limited(scope: Scope) -> bool:
    """The routes that do real work per request: /ask, the form with a question, chat."""
    path: str = scope["path"]
    if path in LIMITED_PATHS or path.startswith(LIMITED_PREFIXES):
        return True
    return path == "/" and b"q=" in scope.get("query_string", b"")


class RateLimit:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_limited(scope):
            client = scope.get("client") or ("unknown", 0)
            wait = self.limiter.take(client[0])
            if wait > 0:
                seconds = math.ceil(wait)
                response = JSONResponse(
                    {"error": f"Too many requests; try again in {seconds} s."},
                    status_code=429,
                    headers={"Retry-After": str(seconds)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# --- headers --------------------------------------------------------------------------------


class SecurityHeaders:
    """nosniff on everything; on HTML, a CSP that also forbids framing (clickjacking)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"].startswith(DOCS_PATHS) else PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_headers(message, policy)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(start: Message, policy: str) -> list[tuple[bytes, bytes]]:
    headers = [(b"x-content-type-options", b"nosniff")]
    content_type = dict(start.get("headers", [])).get(b"content-type", b"")
    if content_type.startswith(b"text/html"):
        headers += [
            (b"content-security-policy", policy.encode()),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]
    return headers


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware; the last added runs first, so the body limit guards the rest."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(SecurityHeaders)
    if settings.rate_limit_per_minute > 0:
        limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        app.add_middleware(RateLimit, limiter=limiter)
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_body_bytes)
