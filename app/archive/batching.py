"""Micro-batching: concurrent single questions are embedded in one model call.

Each /ask runs in a threadpool thread and calls encode([question]). A transformer forward pass
over 16 short questions costs little more than over one, so one worker thread owns the model:
it takes every question that is waiting, embeds them together and hands each caller its row.
While the model runs, the next questions queue up, so batches grow with the load by
themselves and a lone question is never held back (unless `max_wait_ms` asks for it). The
span reader's windows (app/reader/neural.py) are batched the same way.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from app.archive.embed import Embedder
from app.errors import ModelUnavailable

logger = logging.getLogger(__name__)

# How long a question waits for its model call. A batch takes milliseconds; a wait this long
# means the call is stuck, and the caller gets a 503 instead of holding its thread forever.
TIMEOUT_S = 30.0

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Request(Generic[T, R]):
    items: list[T]
    done: threading.Event = field(default_factory=threading.Event)
    results: Sequence[R] | None = None
    error: BaseException | None = None


class Batcher(Generic[T, R]):
    """Coalesces concurrent small calls of `call` (a list of items in, one result per item
    out, in order) into one call on a worker thread that owns the model."""

    def __init__(
        self,
        call: Callable[[list[T]], Sequence[R]],
        *,
        what: str,
        max_wait_ms: float = 0.0,
        max_batch: int = 32,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.call = call
        self.what = what  # "the embedding model", for messages
        self.max_wait = max_wait_ms / 1000
        self.max_batch = max_batch
        self.timeout = timeout_s
        self.batches: list[int] = []  # sizes of the last few batches, for tests and benches
        self._queue: queue.SimpleQueue[_Request[T, R] | None] = queue.SimpleQueue()
        # Taken to queue a request and to queue the stop sign, so no request lands behind the
        # sign, where no worker would ever take it.
        self._closing = threading.Lock()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name=f"{what} batcher", daemon=True)
        self._worker.start()

    def check_open(self) -> None:
        """A plain read; for queued requests the lock in submit decides."""
        if self._closed:
            raise ModelUnavailable(f"{self._name} is shut down; no question can be read.")

    @property
    def _name(self) -> str:
        return self.what[0].upper() + self.what[1:]

    def submit(self, items: list[T]) -> Sequence[R]:
        self.check_open()
        request: _Request[T, R] = _Request(list(items))
        with self._closing:
            self.check_open()
            self._queue.put(request)
        if not request.done.wait(self.timeout):
            raise ModelUnavailable(f"{self._name} gave no answer in {self.timeout:g} s.")
        if request.error is not None:
            raise request.error
        assert request.results is not None
        return request.results

    def close(self) -> None:
        """Serve what is queued, then stop; a later submit raises ModelUnavailable."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._worker.join(timeout=5)

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, stop = self._gather(first)
            self._serve(batch)
            if stop:
                return

    def _gather(self, first: _Request[T, R]) -> tuple[list[_Request[T, R]], bool]:
        """`first` plus whatever else is waiting, up to max_batch items."""
        batch, size = [first], len(first.items)
        deadline = time.monotonic() + self.max_wait
        while size < self.max_batch:
            try:
                wait = deadline - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            size += len(item.items)
        return batch, False

    def _serve(self, batch: list[_Request[T, R]]) -> None:
        items = [t for r in batch for t in r.items]
        try:
            results = self.call(items)
        except BaseException as exc:  # every waiting caller must wake up, with the cause
            for request in batch:
                request.error = exc
                request.done.set()
            return
        self.batches = [*self.batches[-99:], len(items)]
        row = 0
        for request in batch:
            request.results = results[row : row + len(request.items)]
            row += len(request.items)
            request.done.set()


class BatchingEmbedder:
    """An Embedder that coalesces concurrent small encode() calls into one call of `inner`."""

    def __init__(
        self,
        inner: Embedder,
        *,
        max_wait_ms: float = 0.0,
        max_batch: int = 32,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_batch = max_batch
        self._batcher: Batcher[str, np.ndarray] = Batcher(
            lambda texts: list(inner.encode(texts)),
            what="the embedding model",
            max_wait_ms=max_wait_ms,
            max_batch=max_batch,
            timeout_s=timeout_s,
        )

    @property
    def batches(self) -> list[int]:
        return self._batcher.batches

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if len(texts) >= self.max_batch or progress:
            self._batcher.check_open()
            return self.inner.encode(texts, progress=progress)  # bulk work batches itself
        return np.asarray(self._batcher.submit(texts))

    def close(self) -> None:
        """Serve what is queued, then stop; a later encode raises ModelUnavailable."""
        self._batcher.close()
