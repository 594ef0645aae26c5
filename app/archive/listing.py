"""The archive as a list for people: articles newest first, filtered and paged.

The order and each article's folded fields are worked out once per loaded index (O(articles
log articles)); a page then costs one pass over them, a few milliseconds at 10,000 articles.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import date

from app.archive.metadata import Meta
from app.archive.store import Index
from app.errors import BadFilter


@dataclass(frozen=True)
class Shelf:
    """Which articles to list: each field that is set must match (section and outlet without
    regard to case; dates inclusive, and an undated article matches no date bound; every word
    of `words` somewhere in the headline)."""

    section: str | None = None
    source: str | None = None
    published_after: date | None = None
    published_before: date | None = None
    words: str = ""

    def __post_init__(self) -> None:
        after, before = self.published_after, self.published_before
        if after and before and after > before:
            raise BadFilter(
                f"published_after {after} is later than published_before {before}: "
                "no article can be in that range."
            )


@dataclass(frozen=True)
class Entry:
    """One article as listed."""

    file: str
    title: str
    paragraphs: int
    meta: Meta


@dataclass(frozen=True)
class _Row:
    entry: Entry
    day: int  # the publication day's ordinal; 0 when undated
    section: str
    source: str
    title: str  # case-folded, for the headline words


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    number: int  # from 1
    pages: int  # at least 1, even when nothing matched
    total: int  # articles that matched


def catalogue(entries: list[Entry]) -> list[_Row]:
    """The entries newest first (undated last), then by file name."""
    rows = [
        _Row(
            e,
            d.toordinal() if (d := e.meta.published_on) else 0,
            (e.meta.section or "").casefold(),
            (e.meta.source or "").casefold(),
            e.title.casefold(),
        )
        for e in entries
    ]
    rows.sort(key=lambda r: r.entry.file)
    rows.sort(key=lambda r: r.day, reverse=True)  # stable: file order within a day
    return rows


_catalogues: weakref.WeakKeyDictionary[Index, list[_Row]] = weakref.WeakKeyDictionary()


def of_index(index: Index) -> list[_Row]:
    """The catalogue of a loaded index, made on first use and kept as long as the index is."""
    rows = _catalogues.get(index)
    if rows is None:
        entries = [Entry(f.file, f.title, f.paragraphs, f.meta) for f in index.files.values()]
        rows = _catalogues[index] = catalogue(entries)
    return rows


def page(rows: list[_Row], shelf: Shelf, *, number: int, size: int) -> Page:
    """Page `number` (clamped to the last page) of the rows the shelf admits."""
    matched = admitted(rows, shelf)
    pages = max(1, -(-len(matched) // size))
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    return Page(matched[start : start + size], number, pages, len(matched))


def admitted(rows: list[_Row], shelf: Shelf) -> list[Entry]:
    """The entries the shelf admits, in the catalogue's order; what the shelf asks is folded
    once, not once per article."""
    section = _folded(shelf.section)
    source = _folded(shelf.source)
    dated = shelf.published_after is not None or shelf.published_before is not None
    low = shelf.published_after.toordinal() if shelf.published_after else 1
    high = shelf.published_before.toordinal() if shelf.published_before else date.max.toordinal()
    words = shelf.words.casefold().split()
    return [
        r.entry
        for r in rows
        if (section is None or r.section == section)
        and (source is None or r.source == source)
        and (not dated or (r.day and low <= r.day <= high))
        and all(w in r.title for w in words)
    ]


def _folded(value: str | None) -> str | None:
    return None if value is None else value.strip().casefold()
