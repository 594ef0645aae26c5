"""Who may write, how often anyone may ask, and the headers that keep pages from being abused.

Pure ASGI middleware (no BaseHTTPMiddleware): it sees every response, streamed or not, and adds
no task per request.
"""

from __future__ import annotations

import hmac
import math
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.errors import Unauthorized, WritesDisabled
from app.rate_limit import RateLimiter

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
LIMITED_PATHS = ("/ask", "/mcp", "/feedback", "/feedback/form")

_bearer = HTTPBearer(auto_error=False, description="The API_TOKEN the service was started with.")


# --- writers --------------------------------------------------------------------------------


def require_writer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need `Authorization: Bearer <API_TOKEN>`; with no token configured, none pass."""
    _check_token(request, credentials, "Writing to the archive", "Writing")


def require_operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The feedback export needs the same token as writes: it holds what readers wrote."""
    _check_token(request, credentials, "The feedback export", "The feedback export")


def _check_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None, off: str, needs: str
) -> None:
    settings: Settings = request.app.state.settings
    if not settings.api_token:
        raise WritesDisabled(f"{off} is disabled: no API_TOKEN is configured.")
    given = credentials.credentials if credentials else ""
    if not token_matches(given, settings.api_token):
        raise Unauthorized(f"{needs} needs the header Authorization: Bearer <API_TOKEN>.")


WriterDep = Depends(require_writer)
OperatorDep = Depends(require_operator)


def token_matches(given: str, token: str) -> bool:
    """The bearer token, or the desk's sign-in, against API_TOKEN."""
    # compare_digest takes as long for a near miss as for a far one.
    return hmac.compare_digest(given.encode(), token.encode())


# --- rate limit -----------------------------------------------------------------------------


def is_limited(scope: Scope) -> bool:
    """The routes that do real work per request: /ask, MCP, the form with a question, chat."""
    path: str = scope["path"]
    if path in LIMITED_PATHS or path.startswith(LIMITED_PREFIXES):
        return True
    return path == "/" and b"q=" in scope.get("query_string", b"")


def rate_limiter(settings: Settings) -> RateLimiter:
    """The limit counted per client across the server: `serve`'s workers share one table in
    their runtime folder; a process on its own keeps its table in its own memory."""
    shared = settings.runtime_dir / "rate-limit" if settings.runtime_dir else None
    return RateLimiter(
        settings.rate_limit_per_minute,
        settings.rate_limit_burst,
        clients=settings.rate_limit_clients,
        path=shared,
    )


def sign_in_limiter(settings: Settings) -> RateLimiter | None:
    """Desk sign-in attempts per client, apart from the questions' limit; None: unlimited."""
    if settings.desk_sign_ins_per_minute <= 0:
        return None
    shared = settings.runtime_dir / "desk-sign-in" if settings.runtime_dir else None
    per_minute = settings.desk_sign_ins_per_minute
    return RateLimiter(per_minute, per_minute, clients=1024, path=shared)


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
        app.add_middleware(RateLimit, limiter=rate_limiter(settings))
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_body_bytes)
