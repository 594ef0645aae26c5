"""FAISS index kinds: the approximate ones against exact search on seeded random vectors."""

from __future__ import annotations

import numpy as np
import pytest

from app.archive import dense_index


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around a few hundred centres: neighbours exist, as in real text."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((256, dim)).astype(np.float32)
    rows = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, dim))
    rows = rows.astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _recall_at_10(kind: dense_index.Kind, vectors: np.ndarray, queries: np.ndarray) -> float:
    exact = dense_index.build(vectors, "flat", vectors.shape[1])
    approx = dense_index.build(vectors, kind, vectors.shape[1])
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    hits = sum(len(set(t) & set(f)) for t, f in zip(truth, found, strict=True))
    return hits / truth.size


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_search_finds_what_exact_search_finds(kind):
    vectors = _clustered(20_000, 64, seed=1)
    queries = _clustered(200, 64, seed=2)
    assert _recall_at_10(kind, vectors, queries) >= 0.95


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivfpq"])
def test_ids_are_row_numbers(kind):
    vectors = _clustered(5_000, 32, seed=3)
    index = dense_index.build(vectors, kind, 32)
    _, ids = index.search(vectors[[7, 4242]], 1)
    assert ids[:, 0].tolist() == [7, 4242]
    assert dense_index.kind_of(index) == kind


def test_auto_is_exact_for_small_archives_and_ivfpq_for_big_ones():
    assert dense_index.choose_kind("auto", 99_999) == "flat"
    assert dense_index.choose_kind("auto", 100_000) == "ivfpq"
    assert dense_index.choose_kind("ivfpq", 10) == "ivfpq"
    with pytest.raises(ValueError, match="unknown index type"):
        dense_index.choose_kind("annoy", 10)
