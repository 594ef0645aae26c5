"""The two stores behind app/archive/backend.py, held to the same tests: the embedded index
and PostgreSQL with pgvector (a real server; skipped with the reason where it cannot start)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.archive import store as index_store
from app.archive.backend import ArchiveStore
from app.archive.corpus import parse_article
from app.archive.embed import Embedder
from app.archive.facets import Filters
from app.archive.ingest import build_index, index_articles
from app.archive.ingest_queue import build_in_database
from app.config import Settings
from app.embedded_store import EmbeddedStore
from app.live_database import database_store
from app.reader.answer import Reader
from app.reader.linear import load_models
from app.reader.retrieve import Retriever
from app.reader.views import ViewReader
from tests.databases import Postgres

DATED = Path(__file__).parent / "data" / "dated"


@pytest.fixture(params=["embedded", "postgres"])
def archive(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder
) -> Iterator[ArchiveStore]:
    """The dated archive (eight articles, 2022-2025, two outlets) in one of the two stores."""
    corpus = tmp_path / "corpus"
    shutil.copytree(DATED, corpus)
    if request.param == "embedded":
        index_dir = tmp_path / "index"
        build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
        yield EmbeddedStore(index_dir, embedder)
        return
    postgres: Postgres = request.getfixturevalue("postgres")
    store = database_store(Settings(), embedder, postgres.fresh())
    store.db.migrate()
    build_in_database(corpus, store, load_embedder=lambda: embedder)
    yield store
    store.db.close()


def _query(embedder: Embedder, question: str):  # type: ignore[no-untyped-def]
    return embedder.encode([question])[0]


def test_every_hit_slices_back_to_its_article(archive: ArchiveStore, embedder: Embedder) -> None:
    question = "How much did the dam repairs cost?"
    hits = archive.dense(_query(embedder, question), 10) + archive.lexical(question, 10)
    parts, rows = archive.parts([h.chunk for h in hits])
    assert set(rows) == {h.chunk for h in hits}
    for part in parts:
        text = archive.text(part.file)
        assert text is not None
        for chunk in part.chunks:
            assert text[chunk.start : chunk.end] == chunk.text
        for passage in part.passages:
            assert text[passage.start : passage.end] == passage.text
            for start, end in passage.sentences:
                assert passage.start <= start < end <= passage.end
        assert len(part.sentence_vectors) == sum(len(p.sentences) for p in part.passages)


def test_lexical_search_ranks_the_article_with_the_words_first(archive: ArchiveStore) -> None:
    hits = archive.lexical("spillway gates 1968", 3)
    parts, rows = archive.parts([hits[0].chunk])
    assert parts[0].chunks[0].text.count("1968") == 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_filtered_dense_search_returns_k_rows_within_the_filter(
    archive: ArchiveStore, embedder: Embedder, k: int
) -> None:
    filters = Filters(published_after=date(2024, 1, 1), source="valley courier")
    hits = archive.dense(_query(embedder, "reservoir level"), k, filters)
    parts, _ = archive.parts([h.chunk for h in hits])
    allowed = [
        name
        for name, info in archive.files().items()
        if info["meta"].get("published", "") >= "2024-01-01"
        and (info["meta"].get("source") or "").casefold() == "valley courier"
    ]
    chunks = sum(info["chunks"] for name, info in archive.files().items() if name in allowed)
    assert len(hits) == min(k, chunks)
    assert {p.file for p in parts} <= set(allowed)


def test_an_article_added_corrected_and_withdrawn_is_found_then_gone(
    archive: ArchiveStore, embedder: Embedder
) -> None:
    text = "Ferry strike\n\nThe harbour ferry crews walked out over the new rota on Tuesday.\n"
    article = parse_article("ferry.md", text)
    assert archive.put(index_articles([article], embedder)[0], text)
    found = archive.lexical("harbour ferry rota", 1)
    assert archive.parts([found[0].chunk])[0][0].file == "ferry.md"
    corrected = text.replace("Tuesday", "Wednesday")
    archive.put(index_articles([parse_article("ferry.md", corrected)], embedder)[0], corrected)
    assert archive.text("ferry.md") == corrected
    assert (
        "Tuesday"
        not in archive.parts([archive.lexical("ferry rota", 1)[0].chunk])[0][0].chunks[0].text
    )
    assert archive.withdraw("ferry.md")
    assert "ferry.md" not in archive.files()
    assert all(
        p.file != "ferry.md"
        for p in archive.parts([h.chunk for h in archive.lexical("ferry", 5)])[0]
    )
    assert not archive.withdraw("ferry.md")


def test_the_reader_over_a_store_answers_as_over_the_whole_index(
    archive: ArchiveStore, embedder: Embedder, tmp_path: Path
) -> None:
    index_dir = tmp_path / "whole"
    build_index(DATED, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    index = index_store.load(index_dir)
    models = load_models(compiled_dir=None)
    whole = Reader(index, embedder, Retriever(index), models=models)
    view = ViewReader(archive, embedder, models=models)
    for question in ("How much was set aside for the dam?", "When did the reservoir open?"):
        expected, got = whole.ask(question), view.ask(question)
        first, mine = expected.answers[0], got.answers[0]
        assert (mine.answer, mine.citation.file, mine.citation.start) == (
            first.answer,
            first.citation.file,
            first.citation.start,
        )
        assert mine.score == pytest.approx(first.score, abs=0.02)
