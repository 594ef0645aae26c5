"""Feedback when the archive is served from PostgreSQL: kept in its database, not on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from app.archive.database import Database
from app.archive.embed import Embedder
from app.archive.ingest_queue import build_in_database
from app.config import Settings
from app.feedback_store import InDatabase
from app.live_database import database_store
from app.main import create_app
from tests.databases import Postgres
from tests.servers import AUTH, SEEDS, TOKEN

QUESTION = "How much did Denmark pay Kosovo?"


def test_feedback_lands_in_the_archive_database(
    tmp_path: Path, embedder: Embedder, postgres: Postgres
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    url = postgres.fresh()
    store = database_store(Settings(), embedder, url)
    store.db.migrate()
    build_in_database(corpus, store, load_embedder=lambda: embedder)
    store.db.close()
    index_dir = tmp_path / "index"
    settings = Settings(database_url=url, index_dir=index_dir, corpus_dir=corpus, api_token=TOKEN)
    with TestClient(create_app(settings, embedder=embedder)) as http:
        best = http.post("/ask", json={"question": QUESTION}).json()["answers"][0]
        c = best["citation"]
        body = {"verdict": "right", "question": QUESTION, "file": c["file"],
                "paragraph": c["paragraph"], "start": c["start"], "end": c["end"],
                "score": best["score"], "comment": "as printed"}  # fmt: skip
        stored = http.post("/feedback", json=body)
        assert stored.status_code == 201, stored.text
        assert stored.json()["index_version"].startswith("generation-")
        bad = http.post("/feedback", json=body | {"paragraph": 999})
        assert bad.status_code == 422 and "has no paragraph 999" in bad.json()["error"]
        plain = http.post("/feedback", json=body | {"comment": None, "verdict": "wrong_answer"})
        lines = http.get("/feedback", headers=AUTH).text.splitlines()
    assert [json.loads(line)["answer"] for line in lines] == [best["answer"]] * 2
    later = InDatabase(Database(url))
    assert later.comment(plain.json()["id"], "said later")  # as the Slack dialog adds it
    assert not later.comment(stored.json()["id"], "a second comment")
    later.db.close()
    assert not (index_dir / "feedback.sqlite3").exists()
    with psycopg.connect(url) as conn:
        rows = conn.execute('SELECT verdict, comment, "end" FROM feedback ORDER BY id').fetchall()
    assert rows == [("right", "as printed", c["end"]), ("wrong_answer", "said later", c["end"])]
