"""An article's metadata: headline, dates, bylines, section, outlet, link; read from YAML
front matter (or an HTML page's own metadata), checked field by field."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import Any

import yaml

# The opening line, then anything up to a closing line of "---" or "..." (YAML's end marker).
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_OPENS = re.compile(r"\A\ufeff?---[ \t]*\r?\n")
_TEXT_FIELDS = ("title", "section", "source", "url", "id")
_DATE_FIELDS = ("published", "updated")
KNOWN = ("title", "published", "updated", "author", "section", "source", "url", "id")


@dataclass(frozen=True)
class Meta:
    """What a reporter cites an article by; every field optional. Dates are ISO 8601 strings
    as given (a date, or a datetime with its offset)."""

    title: str | None = None
    published: str | None = None
    updated: str | None = None
    authors: tuple[str, ...] = ()
    section: str | None = None
    source: str | None = None
    url: str | None = None
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """For the manifest: only the fields that are set."""
        return {k: list(v) if k == "authors" else v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, row: dict[str, Any] | None) -> Meta:
        row = row or {}
        names = {f.name for f in fields(cls)}
        kept = {k: v for k, v in row.items() if k in names}
        kept["authors"] = tuple(kept.get("authors") or ())
        return cls(**kept)

    @property
    def author(self) -> str | None:
        return ", ".join(self.authors) or None

    @property
    def published_on(self) -> date | None:
        return day_of(self.published)

    @property
    def updated_on(self) -> date | None:
        return day_of(self.updated)


@dataclass(frozen=True)
class FrontMatter:
    meta: Meta
    body_start: int = 0  # where the body begins in the file's text (0 when there is none)
    warnings: tuple[str, ...] = ()


def read_front_matter(file: str, text: str) -> FrontMatter:
    """The metadata at the head of a .md/.txt file. A broken block is reported and skipped
    (the article keeps its body); a bad field is reported and left out."""
    match = _FRONT.match(text)
    if match is None:
        if _OPENS.match(text):
            return FrontMatter(Meta(), 0, (f"{file}: front matter has no closing '---' line",))
        return FrontMatter(Meta())
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where is not None else ""
        return FrontMatter(Meta(), match.end(), (f"{file}: front matter is not YAML{line}",))
    if data is None:
        return FrontMatter(Meta(), match.end())
    if not isinstance(data, dict):
        return FrontMatter(Meta(), match.end(), (f"{file}: front matter is not a mapping",))
    meta, warnings = meta_from(data, file=file)
    return FrontMatter(meta, match.end(), tuple(warnings))


def meta_from(data: dict[str, Any], *, file: str) -> tuple[Meta, list[str]]:
    """Meta from loose key/value pairs (front matter, a feed item, a JSON body); each field
    that cannot be read is named in a warning and left out."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key in _TEXT_FIELDS:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            values[key] = " ".join(str(value).split()) or None
        else:
            warnings.append(f"{file}: field '{key}' is not text")
    for key in _DATE_FIELDS:
        if data.get(key) is None:
            continue
        iso = iso_date(data[key])
        if iso is None:
            warnings.append(f"{file}: field '{key}': {data[key]!r} is not an ISO 8601 date")
        else:
            values[key] = iso
    authors = data.get("author", data.get("authors"))
    if authors is not None:
        names = [authors] if isinstance(authors, str) else authors
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            values["authors"] = tuple(" ".join(n.split()) for n in names if n.strip())
        else:
            warnings.append(f"{file}: field 'author' is not a name or a list of names")
    return Meta(**values), warnings


def iso_date(value: Any) -> str | None:
    """An ISO 8601 date or datetime, normalised; None if it is not one."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def day_of(value: str | None) -> date | None:
    """The calendar day of an ISO date or datetime (a datetime's own day, in UTC if it has an
    offset), for filters and 'newest'."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value)
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def human_date(iso: str | None) -> str | None:
    """'2025-06-01' (or a datetime that day) as '1 Jun 2025', the way a story is dated."""
    day = day_of(iso) if iso else None
    return f"{day.day} {day:%b %Y}" if day else None


def front_matter_text(meta: Meta) -> str:
    """The block written at the head of an imported or posted article ('' when empty)."""
    data = meta.to_dict()
    if "authors" in data:
        authors = data.pop("authors")
        data["author"] = authors[0] if len(authors) == 1 else authors
    if not data:
        return ""
    order = {k: i for i, k in enumerate(KNOWN)}
    ordered = dict(sorted(data.items(), key=lambda kv: order.get(kv[0], len(order))))
    body = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{body}---\n\n"


def with_defaults(meta: Meta, **defaults: Any) -> Meta:
    """Meta with each empty field taken from `defaults` (e.g. an outlet named by a feed)."""
    missing = {k: v for k, v in defaults.items() if v and not getattr(meta, k)}
    return replace(meta, **missing)
