"""What the platforms share: a bounded raw body, the question, and ask() off the event loop."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.live import Archive
from app.reader.answer import Result

_SPACE = re.compile(r"\s+")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes, before any signature work."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"The request body is over {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"The request body is over {limit} bytes.")
    return bytes(body)


def form(body: bytes) -> dict[str, str]:
    """A form-encoded body; the raw bytes were needed for the signature, so parse them here."""
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "The form is not UTF-8.") from exc


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """A JSON object body, or 400 naming what was expected (e.g. "event", "activity")."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise HTTPException(400, f"The {what} is not JSON.") from exc
    if not isinstance(data, dict):
        raise HTTPException(400, f"The {what} is not a JSON object.")
    return data


def field(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    return value if isinstance(value, str) else ""


def question(text: str, max_chars: int) -> str:
    """The question as asked, on one line and within the API's length limit."""
    return _SPACE.sub(" ", text).strip()[:max_chars]


def start_ask(archive: Archive, text: str, *, top_k: int) -> asyncio.Task[Result]:
    """ask() in a worker thread, as a task: callers may stop waiting while it carries on."""
    return asyncio.ensure_future(run_in_threadpool(ask, archive, text, top_k=top_k))


def ask(archive: Archive, text: str, *, top_k: int) -> Result:
    """The answers chat shows are picked from these (app/integrations/messages.py)."""
    return archive.reader.ask(text, top_k=top_k)
