"""The dense (FAISS) index: which kind for how many chunks, and how each kind is built.

Ids are always row numbers of chunks.jsonl. Vectors are unit length, so inner product is
cosine. Below ~100k chunks exact search is already a few milliseconds and needs no training;
above it HNSW keeps a search near a millisecond at recall@10 >= 0.95 (bench/scale.py measures
all three kinds at 100k and 1M chunks).
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import faiss
import numpy as np

logger = logging.getLogger(__name__)

Kind = Literal["flat", "hnsw", "ivfpq"]

# HNSW: 32 links per node; efSearch trades speed for recall at query time.
HNSW_LINKS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
# IVF-PQ: one sub-quantiser per 8 dimensions (48 for 384); the refine stage re-scores exactly.
PQ_DIMS_PER_CODE = 8
IVF_NPROBE = 32
REFINE_FACTOR = 16


def choose_kind(requested: str, chunks: int, *, exact_below: int = 100_000) -> Kind:
    """`auto` is exact search below `exact_below` chunks and HNSW from there on."""
    if requested == "auto":
        return "flat" if chunks < exact_below else "hnsw"
    if requested not in ("flat", "hnsw", "ivfpq"):
        raise ValueError(f"unknown index type {requested!r}: auto, flat, hnsw or ivfpq")
    return requested  # type: ignore[return-value]


def build(vectors: np.ndarray, kind: Kind, dim: int) -> faiss.Index:
    """A searchable index over `vectors` (row i gets id i)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "hnsw":
        index = _hnsw(dim)
    elif kind == "ivfpq":
        index = _ivfpq(vectors, dim)
    else:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if len(vectors):
            index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
        return index
    if len(vectors):
        index.add(vectors)  # HNSW and IVF number rows in the order they are added
    return index


def kind_of(index: faiss.Index) -> Kind:
    """Which kind a loaded index is, so a stale or foreign file is rebuilt, not trusted."""
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexRefine):
        return "ivfpq"
    return "flat"


def tune(index: faiss.Index) -> faiss.Index:
    """Set the query-time knobs (not all of them survive write_index/read_index)."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif isinstance(index, faiss.IndexRefine):
        index.k_factor = REFINE_FACTOR
        faiss.extract_index_ivf(index.base_index).nprobe = IVF_NPROBE
    return index


def _hnsw(dim: int) -> faiss.Index:
    index = faiss.IndexHNSWFlat(dim, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    return tune(index)


def _ivfpq(vectors: np.ndarray, dim: int) -> faiss.Index:
    # About 4·sqrt(n) lists, and at least 39 training points per list (faiss warns below).
    nlist = max(1, min(int(4 * math.sqrt(len(vectors))), len(vectors) // 39))
    codes = max(1, dim // PQ_DIMS_PER_CODE) if dim % PQ_DIMS_PER_CODE == 0 else 1
    spec = f"IVF{nlist},PQ{codes},RFlat"
    index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).permutation(len(vectors))[: 256 * nlist]]
    logger.info("training %s on %d vectors", spec, len(sample))
    index.train(sample)
    return tune(index)
