"""What the platforms share: a bounded raw body, the question, and ask() off the event loop."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.errors import BadQuestion
from app.integrations.messages import FILTERS_HELP
from app.live import Archive
from app.reader.answer import Result
from app.reader.scope import Dates, Filters

_SPACE = re.compile(r"\s+")
# Filters typed beside the question: section:World after:2024-01-01 source:"Daily Ledger"
# (straight or curly quotes, as chat clients send either).
_TOKEN = re.compile(
    r"(?<!\S)(section|source|after|before|as_of|as-of|dates):"
    r"(?:\"([^\"]*)\"|“([^”]*)”|(\S+))",
    re.I,
)


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
    """The answers chat shows are picked from these (app/integrations/messages.py). Filter
    tokens in the text are taken out of the question; a bad one is BadQuestion."""
    question, filters, dates = filter_tokens(text)
    if not question:
        raise BadQuestion(f"Type a question beside the filters. {FILTERS_HELP}")
    return archive.reader.ask(question, top_k=top_k, filters=filters or None, dates=dates)


def filter_tokens(text: str) -> tuple[str, Filters, Dates]:
    """The question without its key:value tokens, the filters they give, and the dates mode."""
    found: dict[str, str] = {}
    for match in _TOKEN.finditer(text):
        key = match.group(1).lower().replace("-", "_")
        found[key] = next(g for g in match.groups()[1:] if g is not None).strip()
    question = _SPACE.sub(" ", _TOKEN.sub(" ", text)).strip()
    mode = found.get("dates", "read").lower()
    if mode not in ("read", "any"):
        raise BadQuestion(f"dates:{found['dates']} is not 'read' or 'any'. {FILTERS_HELP}")
    dates: Dates = "any" if mode == "any" else "read"
    after, before, as_of = (_day(k, found.get(k)) for k in ("after", "before", "as_of"))
    if after and before and after >= before:
        raise BadQuestion(f"after:{after} must be earlier than before:{before}.")
    section, source = (found.get(k) or None for k in ("section", "source"))
    return question, Filters(after, before, section, source, as_of), dates


def _day(key: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadQuestion(f"{key}:{value} is not a date like 2024-01-31.") from None
