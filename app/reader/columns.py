"""Feature tables built by column name, in the order a model's names give."""

from __future__ import annotations

from typing import Any

import numpy as np


def table(names: tuple[str, ...], **columns: Any) -> np.ndarray:
    """One float32 column per name, in `names`' order, each given by name: a column missing,
    unknown or misspelt is an error here, not a model fed the wrong numbers. A scalar is a
    column of one row."""
    if columns.keys() != set(names):
        missing, unknown = set(names) - columns.keys(), columns.keys() - set(names)
        raise ValueError(f"feature columns: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return np.column_stack([np.asarray(columns[name], dtype=np.float32) for name in names])
