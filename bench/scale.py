"""Search at archive scale: exact vs HNSW vs IVF-PQ at 100k and 1M chunks.

The real SQuAD chunk vectors are taken from a built index and N - len(real) more are made
between them: a point part-way from a real chunk towards one of its ten nearest real
neighbours, nudged by a little noise and re-normalised. So the synthetic archive stays on the
surface the real text lies on (isotropic noise alone would make a 384-dimensional fog that
no real archive looks like) and is dense with near-duplicates, as wire copy is. Queries are
real questions embedded by the model. Each (size, kind) runs in its own process so its
memory is its own:

    python -m bench.scale --index-dir .cache/bench/squad --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from app.archive import dense_index

NOISE = 0.2  # the jitter's norm, against unit-length vectors
NEIGHBOURS = 10
KINDS = ("flat", "hnsw", "ivfpq")


def synthetic(real: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """`real` first, then points between real neighbours, all unit length."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    head = min(n, len(real))
    out[:head] = real[:head]
    k = min(NEIGHBOURS, len(real) - 1)
    neighbours = np.argsort(-(real @ real.T), axis=1)[:, 1 : k + 1]
    for lo in range(head, n, 100_000):
        m = min(n, lo + 100_000) - lo
        i = rng.integers(0, len(real), m)
        j = neighbours[i, rng.integers(0, k, m)]
        step = rng.uniform(0, 0.5, (m, 1)).astype(np.float32)
        noise = rng.standard_normal((m, real.shape[1]), dtype=np.float32)
        block = (1 - step) * real[i] + step * real[j] + noise * (NOISE / np.sqrt(real.shape[1]))
        out[lo : lo + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    """Resident memory now (not the peak), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure(vectors_path: Path, queries_path: Path, kind: str, truth_path: Path) -> dict:
    """Build one index kind over the vectors, then time single-query searches."""
    vectors = np.load(vectors_path, mmap_mode="r")
    queries = np.load(queries_path)
    before = rss_mb()
    began = time.perf_counter()
    index = dense_index.build(np.asarray(vectors), kind, vectors.shape[1])  # type: ignore[arg-type]
    build_s = time.perf_counter() - began
    del vectors  # what stays resident is the index itself
    memory = rss_mb() - before
    common = {"kind": kind, "n": int(index.ntotal), "build_s": round(build_s, 2)}
    common |= {"index_mb": round(memory, 1), "peak_rss_mb": round(_peak_mb(), 1)}
    rows = []
    for params in SWEEP[kind]:
        _set(index, params)
        rows.append(common | {"params": params} | _search(index, queries, truth_path))
    return rows


# Query-time knobs tried for each kind; the service's defaults are in app/archive/dense_index.py.
SWEEP: dict[str, list[dict[str, int]]] = {
    "flat": [{}],
    "hnsw": [{"efSearch": ef} for ef in (64, 128, 256, 512)],
    "ivfpq": [{"nprobe": p, "k_factor": k} for p, k in ((16, 32), (32, 64), (64, 64), (64, 128))],
}


def _set(index: object, params: dict[str, int]) -> None:
    import faiss

    if "efSearch" in params:
        index.hnsw.efSearch = params["efSearch"]  # type: ignore[attr-defined]
    if "nprobe" in params:
        index.k_factor = params["k_factor"]  # type: ignore[attr-defined]
        faiss.extract_index_ivf(index.base_index).nprobe = params["nprobe"]  # type: ignore[attr-defined]


def _search(index: object, queries: np.ndarray, truth_path: Path) -> dict[str, float]:
    """Single-query latency, as the service searches, and recall@10 against exact search."""
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), 10)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t)
        found.append(ids[0])
    result = {
        "search_p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
        "search_p99_ms": round(float(np.percentile(times, 99)) * 1000, 3),
    }
    if not truth_path.is_file():
        np.save(truth_path, np.stack(found))  # the flat run is the ground truth
    truth = np.load(truth_path)
    hits = sum(len(set(t) & set(f)) for t, f in zip(truth, found, strict=True))
    return result | {"recall_at_10": round(hits / truth.size, 4)}


def _peak_mb() -> float:
    """This process's peak (VmHWM; ru_maxrss would carry the parent's peak over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(real: np.ndarray, queries: np.ndarray, sizes: list[int], work: Path) -> list[dict]:
    """Every kind at every size, flat first (its answers are the ground truth)."""
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "queries.npy", queries)
    results = []
    for n in sizes:
        vectors_path = work / f"vectors-{n}.npy"
        np.save(vectors_path, synthetic(real, n))
        truth = work / f"truth-{n}.npy"
        truth.unlink(missing_ok=True)
        for kind in KINDS:
            results += _in_subprocess(vectors_path, work / "queries.npy", kind, truth)
            print(json.dumps(results[-1]), flush=True)
        vectors_path.unlink()
    return results


def _in_subprocess(vectors: Path, queries: Path, kind: str, truth: Path) -> list[dict]:
    args = [sys.executable, "-m", "bench.scale", "--one", str(vectors), str(queries), kind]
    out = subprocess.run([*args, str(truth)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", nargs=4, metavar=("VECTORS", "QUERIES", "KIND", "TRUTH"))
    args = parser.parse_args()
    if args.one:
        vectors, queries, kind, truth = args.one
        print(json.dumps(measure(Path(vectors), Path(queries), kind, Path(truth))))


if __name__ == "__main__":
    main()
