"""bench/postgres_scale.py's archive at scale is a real archive: filled to N chunks in a real
PostgreSQL, its statistics whole, its HNSW index rebuilt, searched by the service's store."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import psycopg

from app.archive.embed import Embedder
from app.archive.ingest_queue import build_in_database
from app.config import Settings
from app.live_database import database_store
from bench import postgres_scale
from tests.databases import Postgres

DATED = Path(__file__).parent / "data" / "dated"
N = 1_500


def test_a_filled_archive_holds_n_chunks_with_whole_statistics_and_is_searched(
    postgres: Postgres, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATED, corpus)
    url = postgres.fresh()
    store = database_store(Settings(), embedder, url)
    store.db.migrate()
    build_in_database(corpus, store, load_embedder=lambda: embedder)

    filled = postgres_scale.fill(url, N)

    assert filled["chunks"] == N and filled["real_chunks"] < N
    with psycopg.connect(url) as conn:
        stats = conn.execute("SELECT chunks, chunk_length FROM archive").fetchone()
        counted = conn.execute("SELECT count(*), sum(length) FROM chunks").fetchone()
        lexemes = conn.execute("SELECT sum(chunks) FROM lexemes").fetchone()
        pairs = conn.execute("SELECT count(*) FROM chunks c, unnest(c.lexemes) u").fetchone()
        orphans = conn.execute(
            "SELECT count(*) FROM chunks c LEFT JOIN passages p ON p.id = c.passage_id "
            "WHERE p.id IS NULL"
        ).fetchone()
        hnsw = conn.execute("SELECT to_regclass('chunks_embedding') IS NOT NULL").fetchone()
    assert stats == counted and lexemes == pairs
    assert orphans == (0,) and hnsw == (True,)

    query = embedder.encode(["When did the council approve the budget?"])[0]
    assert len(store.dense(np.asarray(query), 10)) == 10
    assert store.lexical("council budget", 5)
    store.db.close()


def test_hnsw_recall_is_measured_against_exact_search(
    postgres: Postgres, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATED, corpus)
    url = postgres.fresh()
    store = database_store(Settings(), embedder, url)
    store.db.migrate()
    build_in_database(corpus, store, load_embedder=lambda: embedder)
    store.db.close()
    postgres_scale.fill(url, N)
    queries = np.asarray(embedder.encode(["budget", "election results", "a new stadium"]))

    rows = postgres_scale.recall(url, queries)

    assert [r["ef_search"] for r in rows] == list(postgres_scale.EF_SEARCH)
    # At 1,500 rows an ef_search of 200 visits most of the graph: nearly exact.
    assert rows[-1]["recall_at_10"] >= 0.9
    assert all(0 <= r["recall_at_10"] <= 1 for r in rows)
