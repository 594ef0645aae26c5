"""Rows of term-id sets as two flat arrays (CSR), asked about many rows at once.

The reader weighs ~30 passages and ~300 sentences per question; a Python set intersection per
row cost more than the model call, so the sets live here as arrays and one numpy pass answers
"which of the question's terms does each row hold, and how much do they weigh".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


def ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]), without the loop."""
    lengths = ends - starts
    # Each output position minus its range's first output position, plus that range's start.
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return shift + np.arange(int(lengths.sum()), dtype=np.int64)


@dataclass(frozen=True)
class TermSets:
    """Row i holds ids[starts[i]:starts[i + 1]]."""

    starts: np.ndarray  # int64, one more than there are rows
    ids: np.ndarray  # int64

    @classmethod
    def build(cls, rows: Sequence[Iterable[int]]) -> TermSets:
        sets = [sorted(set(row)) for row in rows]
        starts = np.zeros(len(sets) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sets], out=starts[1:])
        ids = np.fromiter((i for s in sets for i in s), dtype=np.int64, count=int(starts[-1]))
        return cls(starts, ids)

    def matched(
        self, rows: np.ndarray, wanted: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each of `rows`: the summed weight, and the count, of the `wanted` ids (sorted,
        unique; `weights` aligned with them) that the row holds."""
        if not len(wanted) or not len(rows):
            return np.zeros(len(rows)), np.zeros(len(rows), dtype=np.int64)
        lo, hi = self.starts[rows], self.starts[rows + 1]
        held = self.ids[ranges(lo, hi)]
        owner = np.repeat(np.arange(len(rows)), hi - lo)
        at = np.minimum(np.searchsorted(wanted, held), len(wanted) - 1)
        hit = wanted[at] == held
        sums = np.bincount(owner[hit], weights=weights[at[hit]], minlength=len(rows))
        return sums, np.bincount(owner[hit], minlength=len(rows))
