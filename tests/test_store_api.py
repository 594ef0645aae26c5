"""The HTTP API over either store (the embedded index, or PostgreSQL where it can start):
the same writes, the same answers, the same offsets, the same history, after a restart too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.archive.embed import Embedder
from app.archive.ingest_queue import build_in_database
from app.config import Settings
from app.live_database import database_store
from app.main import create_app
from tests.databases import Postgres
from tests.servers import AUTH, SEEDS, TOKEN, make_archive

TEXT = """Reservoir report

The Kessel reservoir stood at 41 percent of capacity on Monday, the water board said.

Engineers from the board inspected the northern dam wall and found no cracks after the storm.
"""
FIXED = TEXT.replace("41 percent", "44 percent")
LEVEL = "What level did the Kessel reservoir stand at on Monday?"
NOTE = "An earlier version gave the level as 41 percent."


@pytest.fixture(params=["embedded", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Settings:
    """The seeds archive in one of the two stores, writes allowed."""
    common = {"api_token": TOKEN, "rate_limit_per_minute": 0}
    if request.param == "embedded":
        return Settings(index_dir=make_archive(tmp_path, embedder), **common)  # type: ignore[arg-type]
    postgres: Postgres = request.getfixturevalue("postgres")
    url = postgres.fresh()
    store = database_store(Settings(), embedder, url)
    store.db.migrate()
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    build_in_database(corpus, store, load_embedder=lambda: embedder)
    store.db.close()
    return Settings(database_url=url, index_dir=tmp_path / "index", **common)  # type: ignore[arg-type]


def _top(client: TestClient, question: str) -> dict:
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()["answers"][0]


def test_an_article_is_added_corrected_and_withdrawn_and_that_survives_a_restart(
    settings: Settings, embedder: Embedder
) -> None:
    with TestClient(create_app(settings, embedder=embedder)) as client:
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["chunks"] > health["documents"] > 0
        added = client.post("/documents", json={"file": "kessel.txt", "text": TEXT}, headers=AUTH)
        assert added.status_code == 201, added.text
        first = _top(client, LEVEL)
        assert first["answer"] == "41 percent" and first["citation"]["file"] == "kessel.txt"
        text = client.get("/documents/kessel.txt/text").text
        assert text[first["citation"]["start"] : first["citation"]["end"]] == first["answer"]
        fix = {"text": FIXED, "correction": NOTE}
        assert client.put("/documents/kessel.txt", json=fix, headers=AUTH).status_code == 200
    with TestClient(create_app(settings, embedder=embedder)) as again:
        fixed = _top(again, LEVEL)
        assert fixed["answer"] == "44 percent" and fixed["corrected"]["note"] == NOTE
        history = again.get("/documents/kessel.txt/revisions").json()
        assert [r["action"] for r in history] == ["corrected", "added"]
        assert history[0]["changed_paragraphs"] == [2]
        assert again.delete("/documents/kessel.txt", headers=AUTH).status_code == 200
        assert again.get("/documents/kessel.txt/text").status_code == 410
        assert _top(again, LEVEL)["citation"]["file"] != "kessel.txt"


def test_a_second_add_of_the_same_name_or_text_is_refused(
    settings: Settings, embedder: Embedder
) -> None:
    with TestClient(create_app(settings, embedder=embedder)) as client:
        body = {"file": "kessel.txt", "text": TEXT}
        assert client.post("/documents", json=body, headers=AUTH).status_code == 201
        assert client.post("/documents", json=body, headers=AUTH).status_code == 409
        twin = {"file": "kessel-copy.txt", "text": TEXT}
        assert client.post("/documents", json=twin, headers=AUTH).status_code == 409
        unknown = client.put("/documents/nothing.txt", json={"text": TEXT}, headers=AUTH)
        assert unknown.status_code == 404


def test_the_assistants_search_finds_passages_in_either_store(
    settings: Settings, embedder: Embedder
) -> None:
    from app.api import AskRequest, within_limits
    from app.assistants.tools import search

    question = "How much did Denmark pay Kosovo?"
    with TestClient(create_app(settings, embedder=embedder)) as client:
        asked = within_limits(AskRequest(question=question), settings)
        found = search(client.app.state.archive, asked, 5, "http://test/").passages
    assert 0 < len(found) <= 5
    assert sum("Denmark" in p.text for p in found) >= 2  # both articles' payments
    for p in found:
        text = (SEEDS / p.file).read_text(encoding="utf-8")
        assert text[p.start : p.end] == p.text
