"""How a question narrows itself in time: "in 2022", "last year", "since June", "before
2020", "this week" become a range of published dates, and "latest", "most recent", "newest",
"now" ask for the newest article. Pure: relative phrases are read against a given day.

A small pattern finds the phrase; dateparser turns it into a day and the period it names
(year, month, week, day). Years and month names count only after a preposition ("in", "since",
"before", ...), so "the 2022 budget" is left alone; "last year" and "this week" count alone.
Below the pure part: the scope laid over an archive (the rows it allows, each answer's day)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import numpy as np
from dateparser.date import DateDataParser

from app.archive.facets import UNDATED
from app.archive.facets import Filters as Filters  # the reader's callers take it from here
from app.archive.store import Index
from app.reader.retrieve import Candidate, Retriever

Prefer = Literal["newest"]
# "read": date words in the question narrow the search; "any": they are left as words.
Dates = Literal["read", "any"]

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = r"(?:19|20)\d{2}"
_RELATIVE = r"(?:last|this)\s+(?:year|month|week)"
_WHEN = rf"(?:{_MONTH}\s+{_YEAR}|{_MONTH}|{_YEAR}|{_RELATIVE})"
_BETWEEN = re.compile(rf"\bbetween\s+({_WHEN})\s+and\s+({_WHEN})\b", re.I)
_AFTER_WORD = re.compile(rf"\b(in|during|since|from|after|before|until|till)\s+({_WHEN})\b", re.I)
_ALONE = re.compile(rf"\b()({_RELATIVE})\b", re.I)
_NEWEST = re.compile(r"\b(latest|most\s+recent(?:ly)?|newest|now|currently)\b", re.I)


@dataclass(frozen=True)
class Scope:
    """How the question was read: published in [after, before) (either may be open), and
    whether the newest answering article should lead. `phrase`: the words it came from."""

    published_after: date | None
    published_before: date | None
    prefer: Prefer | None
    range_words: str = ""  # e.g. "in 2022"
    newest_words: str = ""  # e.g. "latest"

    @property
    def phrase(self) -> str:
        """The words the scope was read from."""
        return ", ".join(w for w in (self.range_words, self.newest_words) if w)

    @property
    def has_range(self) -> bool:
        return self.published_after is not None or self.published_before is not None


def read(question: str, today: date) -> Scope | None:
    """The scope the question names, relative to `today`; None when it names none."""
    found = _range(question, today)
    newest = _NEWEST.search(question)
    if found is None and newest is None:
        return None
    after, before, words = found or (None, None, "")
    newest_words = newest.group(0) if newest else ""
    return Scope(after, before, "newest" if newest else None, words, newest_words)


def narrow(filters: Filters, scope: Scope | None) -> Filters:
    """The filters with the scope's range laid over them: both must hold."""
    if scope is None or not scope.has_range:
        return filters
    after = max((d for d in (filters.published_after, scope.published_after) if d), default=None)
    before = min((d for d in (filters.published_before, scope.published_before) if d), default=None)
    return Filters(after, before, filters.section, filters.source, filters.as_of)


def _range(question: str, today: date) -> tuple[date | None, date | None, str] | None:
    """[after, before) and the words, from the first phrase that dateparser can read."""
    if match := _BETWEEN.search(question):
        first, last = _period(match.group(1), today), _period(match.group(2), today)
        if first and last and first[0] < last[1]:
            return first[0], last[1], match.group(0)
    for pattern in (_AFTER_WORD, _ALONE):
        for match in pattern.finditer(question):
            period = _period(match.group(2), today)
            if period is not None:
                after, before = _bounds(match.group(1).lower(), *period)
                return after, before, match.group(0)
    return None


def _bounds(word: str, start: date, end: date) -> tuple[date | None, date | None]:
    """The range a preposition makes of a period [start, end)."""
    if word in ("since", "from"):
        return start, None
    if word == "after":
        return end, None
    if word == "before":
        return None, start
    if word in ("until", "till"):
        return None, end
    return start, end  # "in", "during", or none ("last year")


def _period(words: str, today: date) -> tuple[date, date] | None:
    """The whole period the words name, as [first day, day after the last)."""
    parser = DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": datetime(today.year, today.month, today.day),
            "PREFER_DATES_FROM": "past",  # "since June" in March is last June
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    data = parser.get_date_data(words)
    if data.date_obj is None:
        return None
    day = data.date_obj.date()
    if data.period == "year":
        return date(day.year, 1, 1), date(day.year + 1, 1, 1)
    if data.period == "month":
        start = day.replace(day=1)
        return start, (start + timedelta(days=32)).replace(day=1)
    if data.period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    return day, day + timedelta(days=1)


# --- the newest -----------------------------------------------------------------------------

# "Latest" lets the newest article lead among the answers whose score is at least this share of
# the best one's. The passage model spreads its share steeply (tests/data/dated, "What is the
# latest level of Millbrook Reservoir?": 0.976 for the 2023 paragraph that says "lowest level",
# 0.011 for the 2025 one, 0.003 for it when asked "... now?"), so close means within a factor
# of 500 (docs/decisions.md).
NEWEST_WITHIN = 0.002


def newest_first(scores: np.ndarray, days: list[int]) -> list[int]:
    """Candidates best first by score, except that among those scoring within NEWEST_WITHIN
    of the best, the latest published (a day ordinal; -1 undated) leads; ties keep rank."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    if not order:
        return order
    close = [i for i in order if scores[i] >= NEWEST_WITHIN * scores[order[0]]]
    lead = max(close, key=lambda i: days[i])  # max keeps the first of equals: the best-ranked
    return [lead, *(i for i in order if i != lead)]


def newest_marks(days: list[int]) -> list[bool]:
    """Which answers come from the latest published article, when the answers come from
    articles published on different days (otherwise none is marked)."""
    dated = {d for d in days if d >= 0}
    if len(dated) < 2:
        return [False] * len(days)
    latest = max(dated)
    return [d == latest for d in days]


# --- the archive's side -----------------------------------------------------------------------


def narrowing(
    retriever: Retriever, question: str, filters: Filters, dates: Dates
) -> tuple[Scope | None, np.ndarray | None]:
    """The question's scope and the chunk rows it and the filters allow (None: all). Date
    words are read only when the archive has dated articles, so an undated one (SQuAD, BBC)
    answers exactly as if there were none."""
    scope = None
    if dates == "read" and retriever.dated:
        scope = read(question, filters.as_of or datetime.now(UTC).date())
    narrowed = narrow(filters, scope)
    if not narrowed:
        return scope, None
    allowed: np.ndarray | None = retriever.facets.mask(narrowed)
    if allowed is not None and scope is not None and scope.has_range and not allowed.any():
        # No article is from then, so the words speak of events, not of when articles came
        # out ("in 1995" in a 2024 story): they are left as words.
        scope = replace(scope, published_after=None, published_before=None, range_words="")
        scope = scope if scope.prefer else None
        allowed = retriever.facets.mask(filters) if filters else None
    return scope, allowed


def days_of(index: Index, candidates: list[Candidate]) -> list[int]:
    """Each candidate's article's published day, as an ordinal (UNDATED when none)."""
    days = []
    for c in candidates:
        published = index.files[index.passages[c.row].file].meta.published_on
        days.append(published.toordinal() if published else UNDATED)
    return days
