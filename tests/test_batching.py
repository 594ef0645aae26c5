"""The micro-batcher: concurrent questions share model calls and each gets its own row."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.archive.batching import BatchingEmbedder
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
