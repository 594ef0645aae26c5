"""Near-duplicate paragraphs: MinHash signatures of word shingles, LSH for candidate pairs,
an exact Jaccard check before any pair is grouped (pure: texts in, groups out)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Stored signatures are only comparable under the scheme that made them.
SCHEME = "affine32"


@dataclass(frozen=True)
class Settings:
    """How alike two paragraphs must be to count as one (docs/decisions.md, 2026-12-02)."""

    shingle: int = 4  # words per shingle
    num_perm: int = 128
    # LSH finds pairs somewhat below the bar; the exact check then holds the bar itself.
    lsh_threshold: float = 0.5
    threshold: float = 0.8  # exact Jaccard of the shingle sets
    # A dateline, "Ends." or a one-line quote repeats across unrelated stories.
    min_words: int = 12


DEFAULT = Settings()


def shingles(text: str, size: int = DEFAULT.shingle) -> set[str]:
    """The paragraph's runs of `size` lower-cased words."""
    words = _WORD.findall(text.lower())
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def long_enough(text: str, settings: Settings = DEFAULT) -> bool:
    return len(_WORD.findall(text)) >= settings.min_words


def signatures(texts: Sequence[str], settings: Settings = DEFAULT) -> np.ndarray:
    """One MinHash signature per text (uint64, num_perm wide); all zeros for a text too short
    to be grouped, so the rows stay aligned with the texts."""
    out = np.zeros((len(texts), settings.num_perm), dtype=np.uint64)
    sets = [shingles(t, settings.shingle) if long_enough(t, settings) else set() for t in texts]
    rows = [i for i, s in enumerate(sets) if s]
    hashed = MinHash.bulk(
        [[s.encode() for s in sets[i]] for i in rows], num_perm=settings.num_perm, scheme=SCHEME
    )
    for i, minhash in zip(rows, hashed, strict=True):
        out[i] = minhash.hashvalues
    return out


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def same_figures(a: str, b: str) -> bool:
    """Whether both state the same numbers: a paragraph whose figure changed ("£9.4 million"
    against "£94 million") is another answer, however alike the words."""
    return sorted(_NUMBER.findall(a)) == sorted(_NUMBER.findall(b))


def candidate_pairs(sigs: np.ndarray, settings: Settings = DEFAULT) -> set[tuple[int, int]]:
    """Pairs of rows whose signatures agree on a whole LSH band (smaller row first). The bands
    are datasketch's choice for the threshold; they are matched here with numpy, as
    MinHashLSH's insert and query cost 5 s per 10,000 paragraphs (docs/decisions.md)."""
    bands, width = _optimal_param(settings.lsh_threshold, settings.num_perm, 0.5, 0.5)
    live = np.flatnonzero(sigs.any(axis=1))
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        keys = np.ascontiguousarray(sigs[live, band * width : (band + 1) * width])
        _, bucket, sizes = np.unique(
            keys.view(f"V{keys.shape[1] * 8}").ravel(), return_inverse=True, return_counts=True
        )
        shared = sizes[bucket] > 1
        for rows in _buckets(live[shared], bucket[shared]):
            pairs |= {(int(a), int(b)) for k, a in enumerate(rows) for b in rows[k + 1 :]}
    return pairs


def _buckets(rows: np.ndarray, bucket: np.ndarray) -> list[np.ndarray]:
    """`rows` split by their bucket, each in row order."""
    order = np.lexsort((rows, bucket))
    rows, bucket = rows[order], bucket[order]
    return np.split(rows, np.flatnonzero(np.diff(bucket)) + 1) if len(rows) else []


def scored_pairs(
    texts: Sequence[str], sigs: np.ndarray, settings: Settings = DEFAULT
) -> list[tuple[int, int, float]]:
    """Each LSH candidate pair with its exact Jaccard, for grouping and for measuring."""
    cache: dict[int, set[str]] = {}

    def of(i: int) -> set[str]:
        if i not in cache:
            cache[i] = shingles(texts[i], settings.shingle)
        return cache[i]

    return [(i, j, jaccard(of(i), of(j))) for i, j in sorted(candidate_pairs(sigs, settings))]


def groups(texts: Sequence[str], sigs: np.ndarray, settings: Settings = DEFAULT) -> list[list[int]]:
    """Rows that are near copies of each other, joined through confirmed pairs; each group
    sorted by row, groups by their first row. Rows in no pair are in no group."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, score in scored_pairs(texts, sigs, settings):
        if score >= settings.threshold and same_figures(texts[i], texts[j]):
            parent[root(j)] = root(i)
    found: dict[int, list[int]] = {}
    for i in sorted(parent):
        found.setdefault(root(i), []).append(i)
    return sorted((g for g in found.values() if len(g) > 1), key=lambda g: g[0])


def lead_first(
    members: Sequence[int],
    published: Callable[[int], date | None],
    name: Callable[[int], tuple[str, int]],
) -> list[int]:
    """Members in the order they are cited: the earliest published first, then the undated;
    ties by name."""

    def key(m: int) -> tuple[bool, date, tuple[str, int]]:
        day = published(m)
        return day is None, day or date.min, name(m)

    return sorted(members, key=key)


def index_groups(
    texts: Sequence[str],
    sigs: np.ndarray,
    places: Sequence[tuple[str, int]],
    published: Mapping[str, date | None],
    settings: Settings = DEFAULT,
) -> list[list[int]]:
    """An index's groups of passage rows, each leader first; `places` are the rows' (file,
    paragraph), `published` each file's day."""
    return [
        lead_first(g, lambda r: published.get(places[r][0]), lambda r: places[r])
        for g in groups(texts, sigs, settings)
    ]


def to_json(groups: Sequence[Sequence[int]], places: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """Groups by (file, paragraph), so they outlive row numbers, with the settings that made
    them."""
    return {
        "settings": asdict(DEFAULT),
        "groups": [[list(places[r]) for r in g] for g in groups],
    }


def from_json(data: dict[str, Any], rows: Mapping[tuple[str, int], int]) -> list[list[int]] | None:
    """The saved groups as rows; None if they were made otherwise or name a passage not there."""
    if data.get("settings") != asdict(DEFAULT):
        return None
    try:
        return [[rows[(file, paragraph)] for file, paragraph in g] for g in data["groups"]]
    except (KeyError, TypeError, ValueError):
        return None
