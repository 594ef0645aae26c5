"""python -m app import: a feed (a file, or a URL fetched with httpx) into the corpus folder,
one front-matter .md file an item, named from the item's id or URL.

The same item always gives the same file name and the same bytes, so importing a feed again
touches only what changed there: an unchanged file is not even rewritten.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.archive.feeds import Item, parse_feed
from app.archive.metadata import front_matter_text
from app.config import Settings
from app.errors import BadFeed
from app.files import write_bytes_atomically

logger = logging.getLogger(__name__)

# What servers send feeds as; .jsonl files are often served as text/plain.
FEED_TYPES = (
    *("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml"),
    *("text/xml", "application/x-ndjson", "application/jsonl", "application/x-jsonlines"),
    *("application/json", "text/plain"),
)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG_CHARS = 60


@dataclass
class Imported:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (line or item, why)
    warnings: list[str] = field(default_factory=list)


def import_feed(source: str, corpus_dir: Path, settings: Settings) -> Imported:
    """Write every good item of the feed at `source` (a path or an http(s) URL) into
    `corpus_dir`; bad ones are reported by line or item number and left out."""
    if source.startswith(("http://", "https://")):
        data = fetch(source, timeout=settings.feed_timeout_s, max_bytes=settings.feed_max_bytes)
    else:
        data = read_feed_file(Path(source), max_bytes=settings.feed_max_bytes)
    feed = parse_feed(data, name=source)
    done = Imported(skipped=list(feed.skipped), warnings=list(feed.warnings))
    first: dict[str, str] = {}
    for item in feed.items:
        name = file_name(item.key)
        data = article_bytes(item)
        if name in first:
            done.skipped.append((item.where, f"the same id or URL as {first[name]}"))
        elif len(data) > settings.max_upload_bytes:
            reason = f"{len(data)} bytes; articles are limited to {settings.max_upload_bytes}"
            done.skipped.append((item.where, reason))
        else:
            first[name] = item.where
            getattr(done, _write(corpus_dir / name, data)).append(name)
    logger.info("imported %s: %d added, %d updated", source, len(done.added), len(done.updated))
    return done


def file_name(key: str) -> str:
    """A readable slug of the id or URL and a short hash of all of it: stable, unique and
    within the names the write API takes ([A-Za-z0-9._-]+.md)."""
    readable = re.sub(r"^[a-z]+://(www\.)?", "", key.lower())
    slug = _NOT_SLUG.sub("-", readable).strip("-")[:_SLUG_CHARS].strip("-") or "item"
    return f"{slug}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}.md"


def article_bytes(item: Item) -> bytes:
    return (front_matter_text(item.meta) + item.body + "\n").encode("utf-8")


def _write(path: Path, data: bytes) -> str:
    """'added', 'updated' or 'unchanged'; an unchanged file keeps its bytes and its mtime."""
    if path.is_file():
        if path.read_bytes() == data:
            return "unchanged"
        write_bytes_atomically(path, data)
        return "updated"
    write_bytes_atomically(path, data)
    return "added"


def read_feed_file(path: Path, *, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadFeed(f"{path}: {size} bytes; feeds are limited to {max_bytes} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise BadFeed(f"{path}: cannot read it ({exc.strerror})") from exc


def fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """The feed's bytes, or BadFeed saying why not: no answer in time, an error status, a
    page that is not a feed (by its content type), or a body over the size limit."""
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5) as client,
            client.stream("GET", url, headers={"Accept": ", ".join(FEED_TYPES)}) as response,
        ):
            _check_response(url, response, max_bytes=max_bytes)
            return _read_body(url, response, timeout=timeout, max_bytes=max_bytes)
    except httpx.TimeoutException as exc:
        raise BadFeed(f"{url}: no answer within {timeout:g} s (NEWSROOM_FEED_TIMEOUT_S)") from exc
    except httpx.HTTPError as exc:
        raise BadFeed(f"{url}: cannot fetch it ({exc})") from exc


def _check_response(url: str, response: httpx.Response, *, max_bytes: int) -> None:
    if response.status_code != 200:
        raise BadFeed(f"{url}: the server answered {response.status_code} {response.reason_phrase}")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FEED_TYPES:
        raise BadFeed(
            f"{url}: served as {kind or 'no content type'}, not as a feed "
            "(RSS or Atom XML, or JSON Lines)"
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BadFeed(_too_large(url, max_bytes))


def _read_body(url: str, response: httpx.Response, *, timeout: float, max_bytes: int) -> bytes:
    # httpx's timeout is per read; a server that trickles bytes must still finish in time.
    deadline = time.monotonic() + timeout
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise BadFeed(_too_large(url, max_bytes))
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the whole body took too long", request=response.request)
    return bytes(body)


def _too_large(url: str, max_bytes: int) -> str:
    return f"{url}: larger than {max_bytes} bytes, the limit for a feed (NEWSROOM_FEED_MAX_BYTES)"
