"""An API fuzz run: schemathesis against the app's own OpenAPI, in process; never a 5xx."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from app.archive.embed import Embedder
from app.config import Settings
from app.main import create_app
from tests.servers import AUTH, TOKEN, make_archive


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[FastAPI]:
    """Its own archive (the fuzzer writes to it), with writes on and no rate limit."""
    index_dir = make_archive(Path(tmp_path_factory.mktemp("fuzz")), embedder)
    config = Settings(index_dir=index_dir, api_token=TOKEN, rate_limit_per_minute=0)
    app = create_app(config, embedder=embedder)
    with TestClient(app):  # runs the lifespan: model and index loaded once
        yield app


def test_api_never_answers_with_a_server_error(fuzzed_app: FastAPI) -> None:
    """Valid and invalid requests to every operation, writes included (with the token)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in ((GenerationMode.POSITIVE, 10), (GenerationMode.NEGATIVE, 6)):
            _fuzz(operation.as_strategy(generation_mode=mode), examples, failures)
    assert not failures, "\n".join(failures[:10])


def _fuzz(strategy: Any, examples: int, failures: list[str]) -> None:
    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(strategy)
    def run(case: Any) -> None:
        response = case.call(headers=AUTH)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {case.as_curl_command()}")

    # An operation without parameters has no invalid form to generate.
    with contextlib.suppress(Unsatisfiable):
        run()
