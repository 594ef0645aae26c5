"""Feeds to articles: JSON Lines (one article a line) or RSS/Atom (feedparser), bytes in,
items out. A bad line or item is reported by its number and left out; the rest go on."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from time import struct_time
from typing import Any

import feedparser

from app.archive.html import fragment_text, page_article
from app.archive.metadata import Meta, meta_from, read_front_matter, with_defaults
from app.errors import BadFeed, NoArticle


@dataclass(frozen=True)
class Item:
    key: str  # the item's id, else its URL: what names its file, so a re-import finds it
    meta: Meta
    body: str  # blank-line-separated paragraphs
    where: str  # "line 3", "item 2": how a person finds it in the feed


@dataclass
class Feed:
    items: list[Item] = field(default_factory=list)
    # (where, why) for each line or item left out, and each field dropped from one kept.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_feed(data: bytes, *, name: str) -> Feed:
    """JSON Lines if the first character is '{', else RSS or Atom."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"{":
        return parse_jsonl(data, name=name)
    if head == b"<":
        return parse_xml(data, name=name)
    raise BadFeed(f"{name}: neither JSON Lines (one JSON object a line) nor RSS/Atom XML")


def parse_jsonl(data: bytes, *, name: str) -> Feed:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFeed(f"{name}: not UTF-8 text (byte {exc.start})") from exc
    feed = Feed()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            _add(feed, f"line {number}", partial(_json_item, line))
    return feed


def _json_item(line: str, where: str) -> tuple[Item, list[str]]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg}, column {exc.colno})") from exc
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    meta, warnings = meta_from(row, file=where)
    text, markup = row.get("text"), row.get("html")
    if isinstance(text, str) and text.strip():
        body = text.strip()
    elif isinstance(markup, str) and markup.strip():
        body, meta = _from_page(markup, meta, where)
    else:
        raise ValueError("no 'text' or 'html' to import")
    return Item(_key(meta), meta, body, where), warnings


def _from_page(markup: str, meta: Meta, where: str) -> tuple[str, Meta]:
    """A whole page's article and metadata (the line's own fields win), or a fragment's text."""
    try:
        whole = page_article(where, markup.encode("utf-8"))
    except NoArticle:
        body = fragment_text(markup)
        if not body:
            raise ValueError("its 'html' holds no text") from None
        return body, meta
    page = read_front_matter(where, whole)
    defaults = {k: getattr(page.meta, k) for k in ("title", "published", "updated", "authors")}
    defaults |= {k: getattr(page.meta, k) for k in ("section", "source", "url")}
    return whole[page.body_start :].strip(), with_defaults(meta, **defaults)


def parse_xml(data: bytes, *, name: str) -> Feed:
    parsed = feedparser.parse(data)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception") or "no channel or feed element"
        raise BadFeed(f"{name}: not an RSS or Atom feed ({problem})")
    outlet = parsed.feed.get("title")
    feed = Feed()
    for number, entry in enumerate(parsed.entries, start=1):
        _add(feed, f"item {number}", partial(_entry_item, entry, outlet=outlet))
    return feed


def _entry_item(entry: Any, where: str, outlet: str | None) -> tuple[Item, list[str]]:
    tags = entry.get("tags") or [{}]
    published = _moment(entry.get("published_parsed"))
    # Asked with `in`: feedparser's get() would hand back the publication date (its issue 310).
    updated = _moment(entry["updated_parsed"]) if "updated_parsed" in entry else None
    authors = [a.get("name") for a in entry.get("authors") or [] if a.get("name")]
    fields = {
        "id": entry.get("id"),
        "url": entry.get("link"),
        "title": entry.get("title"),
        "published": published,
        "updated": updated if updated != published else None,
        "author": authors or None,
        "section": tags[0].get("term"),
        "source": (entry.get("source") or {}).get("title") or outlet,
    }
    meta, warnings = meta_from(fields, file=where)
    body = fragment_text(_content(entry))
    if not body:
        raise ValueError("no content or summary to import")
    return Item(_key(meta), meta, body, where), warnings


def _content(entry: Any) -> str:
    """The fullest text the entry has: its content, else its summary (both HTML or text)."""
    for part in entry.get("content") or []:
        if part.get("value", "").strip():
            return str(part["value"])
    return str(entry.get("summary") or "")


def _moment(parsed: struct_time | None) -> str | None:
    """feedparser's dates are UTC struct_times, whatever zone the feed wrote."""
    if parsed is None:
        return None
    return datetime(*parsed[:6], tzinfo=UTC).isoformat()


def _key(meta: Meta) -> str:
    key = meta.id or meta.url
    if not key:
        raise ValueError("no 'id' or 'url' to name it by")
    return key


def _add(feed: Feed, where: str, build: Callable[[str], tuple[Item, list[str]]]) -> None:
    try:
        item, warnings = build(where)
    except ValueError as exc:
        feed.skipped.append((where, str(exc)))
        return
    feed.items.append(item)
    feed.warnings += warnings
