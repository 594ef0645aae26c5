"""Per-chunk facets for filters: the day each chunk's article was published, its section and
its outlet, as arrays aligned with the index's chunk rows, and the row mask a filter gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from app.archive.store import Index

UNDATED = -1  # an article with no published date matches no date bound


@dataclass(frozen=True)
class Filters:
    """What a question may be answered from; every field optional. `published_after` is
    inclusive, `published_before` exclusive (so a year is [Jan 1, next Jan 1)), `as_of` keeps
    the articles published on or before it. Section and source match without regard to case."""

    published_after: date | None = None
    published_before: date | None = None
    section: str | None = None
    source: str | None = None
    as_of: date | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__dataclass_fields__)


class Facets:
    """Built once per loaded index (O(chunks)); chunk row i of every array is FAISS row i."""

    def __init__(self, index: Index) -> None:
        days = {name: f.meta.published_on for name, f in index.files.items()}
        self.day = np.array(
            [d.toordinal() if (d := days[c.file]) else UNDATED for c in index.chunks],
            dtype=np.int64,
        )
        self.section = _codes([index.files[c.file].meta.section for c in index.chunks])
        self.source = _codes([index.files[c.file].meta.source for c in index.chunks])
        # Whether any article carries a date: a question's date words are read only then.
        self.dated = bool((self.day != UNDATED).any())
        self.sectioned = len(self.section[1]) > 0

    def mask(self, filters: Filters) -> np.ndarray:
        """Which chunk rows the filters allow."""
        allowed = np.ones(len(self.day), dtype=bool)
        low = filters.published_after
        high = _earliest(filters.published_before, filters.as_of)
        if low is not None or high is not None:
            allowed &= self.day != UNDATED
        if low is not None:
            allowed &= self.day >= low.toordinal()
        if high is not None:
            allowed &= self.day < high
        allowed &= _matches(self.section, filters.section)
        allowed &= _matches(self.source, filters.source)
        return allowed


def _earliest(before: date | None, as_of: date | None) -> int | None:
    """The exclusive upper bound in ordinals: as_of's day itself is still allowed."""
    bounds = [d.toordinal() for d in (before,) if d is not None]
    bounds += [d.toordinal() + 1 for d in (as_of,) if d is not None]
    return min(bounds) if bounds else None


def _codes(values: list[str | None]) -> tuple[np.ndarray, dict[str, int]]:
    """Each value as a small integer (-1 for none), keyed by its case-folded text."""
    table: dict[str, int] = {}
    codes = [table.setdefault(v.casefold(), len(table)) if v else -1 for v in values]
    return np.array(codes, dtype=np.int64), table


def _matches(coded: tuple[np.ndarray, dict[str, int]], wanted: str | None) -> np.ndarray | bool:
    if wanted is None:
        return True
    codes, table = coded
    code = table.get(" ".join(wanted.split()).casefold())
    return codes == code if code is not None else np.zeros(len(codes), dtype=bool)
