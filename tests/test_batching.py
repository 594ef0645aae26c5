"""The micro-batcher: concurrent questions share model calls and each gets its own row."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.archive.batching import BatchingEmbedder
from app.archive.embed import Embedder
from app.config import Settings
from app.errors import ModelUnavailable
from app.main import create_app
from tests.fakes import HashingEmbedder


class SlowEmbedder(HashingEmbedder):
    """A model call that takes a while, so questions pile up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        time.sleep(0.02)
        return super().encode(texts)


def test_concurrent_questions_get_their_own_vectors_from_fewer_model_calls():
    inner = SlowEmbedder()
    batcher = BatchingEmbedder(inner, max_wait_ms=5, max_batch=32)
    questions = [f"question number {i} about topic {i % 7}" for i in range(48)]
    with ThreadPoolExecutor(16) as pool:
        rows = list(pool.map(lambda q: batcher.encode([q])[0], questions))
    batcher.close()
    expected = HashingEmbedder().encode(questions)
    np.testing.assert_allclose(np.stack(rows), expected, atol=1e-6)
    assert len(inner.calls) < len(questions)
    assert max(inner.calls) > 1


def test_a_lone_question_is_not_held_back():
    batcher = BatchingEmbedder(HashingEmbedder(), max_wait_ms=0)
    began = time.perf_counter()
    batcher.encode(["who won?"])
    batcher.close()
    assert time.perf_counter() - began < 0.5


def test_bulk_encodes_bypass_the_queue():
    inner = SlowEmbedder()
    batcher = BatchingEmbedder(inner, max_batch=4)
    assert batcher.encode([f"t{i}" for i in range(10)]).shape == (10, inner.dim)
    batcher.close()
    assert inner.calls == [10]


def test_a_failing_model_call_reaches_every_waiting_caller():
    class Broken(HashingEmbedder):
        def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
            raise RuntimeError("model exploded")

    batcher = BatchingEmbedder(Broken())
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            batcher.encode(["q"])
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    batcher.close()
    assert len(errors) == 4


def test_the_batcher_keeps_the_model_identity():
    inner = HashingEmbedder()
    batcher = BatchingEmbedder(inner)
    assert (batcher.name, batcher.dim) == (inner.name, inner.dim)
    batcher.close()


class StuckEmbedder:
    """A model call that never returns until it is let go."""

    def __init__(self, inner: Embedder) -> None:
        self.name, self.dim = inner.name, inner.dim
        self.release = threading.Event()

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.release.wait()
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def test_encode_after_close_fails_at_once_instead_of_waiting_forever():
    batcher = BatchingEmbedder(HashingEmbedder())
    batcher.close()
    began = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="shut down"):
        batcher.encode(["who won?"])
    with pytest.raises(ModelUnavailable, match="shut down"):
        batcher.encode([f"t{i}" for i in range(40)])  # the bulk path too
    assert time.perf_counter() - began < 0.5
    batcher.close()  # a second close is harmless


def test_questions_in_flight_at_close_are_answered_or_refused_none_left_waiting():
    inner = SlowEmbedder()
    batcher = BatchingEmbedder(inner)

    def ask(question: str) -> str:
        try:
            return str(batcher.encode([question]).shape)
        except ModelUnavailable:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(ask, "q0")
        while not inner.calls:  # q0 is in the model
            time.sleep(0.001)
        rest = [pool.submit(ask, f"q{i}") for i in range(1, 8)]
        batcher.close()
        # One queued behind the stop sign would wait out the 30 s timeout.
        outcomes = [f.result(timeout=5) for f in [first, *rest]]
    assert outcomes[0] == str((1, inner.dim))
    assert set(outcomes) <= {str((1, inner.dim)), "refused"}


def test_a_stuck_model_call_times_out_with_a_service_unavailable_error():
    stuck = StuckEmbedder(HashingEmbedder())
    batcher = BatchingEmbedder(stuck, timeout_s=0.2)
    began = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="no answer in 0.2 s") as caught:
        batcher.encode(["who won?"])
    assert 0.2 <= time.perf_counter() - began < 2
    assert caught.value.status_code == 503
    stuck.release.set()
    batcher.close()


def test_ask_answers_503_while_the_model_is_stuck(settings: Settings, embedder: Embedder):
    stuck = StuckEmbedder(embedder)
    quick = settings.model_copy(update={"batch_timeout_s": 0.2})
    try:
        with TestClient(create_app(quick, embedder=stuck)) as client:
            response = client.get("/ask", params={"q": "How much did Denmark pay Kosovo?"})
    finally:
        stuck.release.set()
    assert response.status_code == 503
    assert "no answer in 0.2 s" in response.json()["error"]
