"""The dense (FAISS) index: which kind for how many chunks, and how each kind is built.

Ids are always row numbers of chunks.jsonl. Vectors are unit length, so inner product is
cosine. Below ~100k chunks exact search needs no training and costs little; above it IVF-PQ
with an exact re-scoring stage keeps a search under a millisecond at recall@10 >= 0.95.
HNSW is there too, but on an archive dense with near-duplicates (as wire copy is) it fell
short: recall@10 0.88 at 1M chunks even at efSearch 512 (bench/scale.py, docs/performance.md).
"""

from __future__ import annotations

import logging
import math
import os
from typing import Literal

import faiss
import numpy as np

logger = logging.getLogger(__name__)

Kind = Literal["flat", "hnsw", "ivfpq"]

# HNSW: 32 links per node; efSearch trades speed for recall (512: 0.98 at 100k chunks).
HNSW_LINKS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 512
# IVF-PQ: 4-bit fast-scan codes (SIMD table look-ups), one per 4 dimensions (96 for 384);
# the refine stage re-scores the best k_factor·k candidates exactly.
PQ_DIMS_PER_CODE = 4
IVF_NPROBE = 64
REFINE_FACTOR = 128


def choose_kind(requested: str, chunks: int, *, exact_below: int = 100_000) -> Kind:
    """`auto` is exact search below `exact_below` chunks and IVF-PQ from there on."""
    if requested == "auto":
        return "flat" if chunks < exact_below else "ivfpq"
    if requested not in ("flat", "hnsw", "ivfpq"):
        raise ValueError(f"unknown index type {requested!r}: auto, flat, hnsw or ivfpq")
    return requested  # type: ignore[return-value]


def build(vectors: np.ndarray, kind: Kind, dim: int) -> faiss.Index:
    """A searchable index over `vectors` (row i gets id i)."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is bulk work: use every core
    try:
        index = _build(np.ascontiguousarray(vectors, dtype=np.float32), kind, dim)
    finally:
        serve_single_queries()
    return tune(index)


def serve_single_queries() -> None:
    """One OpenMP thread per search. A single query gains nothing from more, and on busy
    cores it loses a lot: each parallel region waits at a barrier for a descheduled thread
    (measured: flat search p99 went from ~1 ms to 30+ ms on a loaded 2-core machine)."""
    faiss.omp_set_num_threads(1)


def _build(vectors: np.ndarray, kind: Kind, dim: int) -> faiss.Index:
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
    serve_single_queries()
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif isinstance(index, faiss.IndexRefine):
        index.k_factor = REFINE_FACTOR
        faiss.extract_index_ivf(index.base_index).nprobe = IVF_NPROBE
    return index


def _hnsw(dim: int) -> faiss.Index:
    index = faiss.IndexHNSWFlat(dim, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    return index


def _ivfpq(vectors: np.ndarray, dim: int) -> faiss.Index:
    # About 4·sqrt(n) lists, and at least 39 training points per list (faiss warns below).
    nlist = max(1, min(int(4 * math.sqrt(len(vectors))), len(vectors) // 39))
    codes = max(1, dim // PQ_DIMS_PER_CODE) if dim % PQ_DIMS_PER_CODE == 0 else 1
    spec = f"IVF{nlist},PQ{codes}x4fs,RFlat"
    index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    # k-means cost grows with sample x lists: 39 points per list is what faiss asks for.
    sample = vectors[np.random.default_rng(0).permutation(len(vectors))[: 40 * nlist]]
    logger.info("training %s on %d vectors", spec, len(sample))
    index.train(sample)
    return index


def search_within(index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray) -> np.ndarray:
    """The best `k` row ids among the rows `allowed` (a boolean mask over all rows), found by
    the index itself: each kind takes the selector in its own search parameters, so the
    search stays as exact (flat) or as approximate (HNSW, IVF-PQ) as it is unfiltered."""
    bits = np.packbits(allowed, bitorder="little")  # must outlive the search: faiss reads it
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
    params: faiss.SearchParameters
    if isinstance(index, faiss.IndexHNSW):
        # The stubs lack SearchParametersHNSW; faiss has it.
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = index.hnsw.efSearch  # type: ignore[attr-defined]
    elif isinstance(index, faiss.IndexRefine):
        ivf = faiss.SearchParametersIVF()
        ivf.sel, ivf.nprobe = selector, faiss.extract_index_ivf(index).nprobe
        params = faiss.IndexRefineSearchParameters()
        params.k_factor, params.base_index_params = index.k_factor, ivf
    else:
        params = faiss.SearchParameters()
    params.sel = selector
    _, ids = index.search(query.reshape(1, -1), k, params=params)
    return ids[0][ids[0] >= 0].astype(np.int64)
