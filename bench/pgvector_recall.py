"""pgvector's HNSW alone at archive scale: build time and recall@10 against exact search.

The chunk vectors of a built index (all of SQuAD's, say) plus bench/scale.py's synthetic
neighbours, in a bare table (id, vector(384)) with the schema's HNSW definition, built after
the bulk load; real SQuAD test questions, embedded as the index was, are the queries. No
articles or text: this is the dense search the archive's store runs, and nothing else.

    python -m bench.pgvector_recall --index-dir .cache/bench/squad-onnx-int8 --sizes 100000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from app.archive.embed import load_embedder
from app.config import Settings
from bench import scale
from bench.common import SQUAD, questions
from bench.postgres_scale import start_postgres

EF_SEARCH = (40, 100, 200, 400, 1000)
SQL = "SELECT id FROM items ORDER BY embedding <#> %s LIMIT 10"


def measure(admin_url: str, real: np.ndarray, queries: np.ndarray, n: int, build: str = "") -> dict:
    """One size: load, build (timed), then recall and latency at each ef_search. `build`:
    HNSW's build parameters (e.g. "m = 32, ef_construction = 128"); pgvector's defaults
    (m 16, ef_construction 64) are the schema's."""
    vectors = scale.synthetic(real, n)
    name = f"vectors_{n}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(admin_url.replace("/postgres?", f"/{name}?"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute("CREATE TABLE items (id integer PRIMARY KEY, embedding vector(384))")
        began = time.perf_counter()
        with conn.cursor().copy("COPY items FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "vector"])
            for i, v in enumerate(vectors):
                copy.write_row([i, v])
        load_s = time.perf_counter() - began
        conn.execute("SET maintenance_work_mem = '4GB'")
        began = time.perf_counter()
        with_ = f" WITH ({build})" if build else ""
        conn.execute(f"CREATE INDEX ON items USING hnsw (embedding vector_ip_ops){with_}")
        build_s = time.perf_counter() - began
        size = conn.execute("SELECT pg_indexes_size('items')").fetchone()[0]  # type: ignore[index]
        truth = [set(np.argpartition(-(vectors @ q), 10)[:10]) for q in queries]
        rows = [_search(conn, queries, truth, ef) for ef in EF_SEARCH]
    return {
        "n": n,
        "real": len(real),
        "build": build or "m = 16, ef_construction = 64 (defaults)",
        "load_s": round(load_s, 1),
        "hnsw_build_s": round(build_s, 1),
        "hnsw_build_rows_per_s": round(n / build_s),
        "hnsw_mb": round(size / 2**20, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "recall": rows,
    }


def _search(conn: psycopg.Connection, queries: np.ndarray, truth: list[set], ef: int) -> dict:
    conn.execute(f"SET hnsw.ef_search = {ef}")
    hits, times = 0, []
    for q, exact in zip(queries, truth, strict=True):
        began = time.perf_counter()
        found = {r[0] for r in conn.execute(SQL, (q,))}
        times.append(time.perf_counter() - began)
        hits += len(found & exact)
    return {
        "ef_search": ef,
        "recall_at_10": round(hits / (10 * len(queries)), 4),
        "search_p50_ms": round(float(np.percentile(times, 50)) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index-dir", type=Path, required=True, help="a built embedded index")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--build", default="", help='HNSW WITH (...), e.g. "m = 32"')
    parser.add_argument("--postgres", type=Path, help="the server's folder (default: temporary)")
    args = parser.parse_args()
    current = args.index_dir / "current"
    real = np.load(current / "chunks.npy")
    backend = json.loads((current / "manifest.json").read_text())["model"]
    settings = Settings(backend="onnx-int8" if "int8" in backend else "onnx")
    queries = load_embedder(settings).encode(questions(SQUAD / "test.jsonl", args.queries))
    folder = args.postgres or Path(tempfile.mkdtemp(prefix="bench-pgvector-"))
    admin = start_postgres(folder)
    for n in args.sizes:
        print(json.dumps(measure(admin, real, np.asarray(queries), n, args.build)), flush=True)


if __name__ == "__main__":
    main()
