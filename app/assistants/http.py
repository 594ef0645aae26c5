"""/mcp: the MCP server over streamable HTTP, off (404) until NEWSROOM_MCP or MCP_TOKEN is set,
behind the MCP spec's Origin check and, when MCP_TOKEN is set, a bearer token."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.assistants.tools import build_server
from app.config import Settings


def enabled(settings: Settings) -> bool:
    return settings.mcp or bool(settings.mcp_token)


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Route(Route):
    """A route to a plain ASGI app that names itself in the scope, as FastAPI's routes do, so
    the request metrics count /mcp under its own label rather than as unmatched."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)


class Gate:
    """Who may reach /mcp: the MCP spec's Origin rule against DNS rebinding (a browser page
    elsewhere must not drive a local server), then the bearer token when one is set."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.token = settings.mcp_token or None  # an empty MCP_TOKEN is no token
        # The Host header is the attacker's own name in a rebinding, so "our own origin" is
        # the configured public URL, not whatever the request says it is.
        self.origins = {_origin(o) for o in [settings.public_base_url, *settings.cors_origins]}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.refusal(Headers(scope=scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, headers: Headers) -> JSONResponse | None:
        origin = headers.get("origin")
        if origin is not None and _origin(origin) not in self.origins:
            message = f"Origin {origin} may not use this MCP server (NEWSROOM_CORS_ORIGINS)."
            return JSONResponse({"error": message}, status_code=403)
        if self.token is None:
            return None
        scheme, _, given = headers.get("authorization", "").partition(" ")
        # compare_digest takes as long for a near miss as for a far one.
        right = hmac.compare_digest(given.encode(), self.token.encode())
        if scheme.lower() != "bearer" or not right:
            return JSONResponse(
                {"error": "The MCP server needs the header Authorization: Bearer <MCP_TOKEN>."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return None


def mount(app: FastAPI, settings: Settings) -> None:
    """/mcp on the app when enabled; left out, it is a 404 like any unknown path."""
    if not enabled(settings):
        return
    server = build_server(lambda: app.state.archive, settings)
    # Stateless: `serve` runs several workers, and any of them may get a session's next
    # request. Origins are checked by the Gate, hosts by whatever proxy fronts the service.
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.state.mcp_sessions = server.session_manager
    endpoint = Gate(StreamableHTTPASGIApp(server.session_manager), settings)
    app.router.routes.append(_Route("/mcp", endpoint))  # an ASGI app: every method, no schema


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    """For the app's lifespan: the MCP sessions' task group, while the app runs."""
    sessions = getattr(app.state, "mcp_sessions", None)
    if sessions is None:
        yield
        return
    async with sessions.run():
        yield
