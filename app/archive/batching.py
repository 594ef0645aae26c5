"""Micro-batching: concurrent single questions are embedded in one model call.

Each /ask runs in a threadpool thread and calls encode([question]). A transformer forward pass
over 16 short questions costs little more than over one, so one worker thread owns the model:
it takes every question that is waiting, embeds them together and hands each caller its row.
While the model runs, the next questions queue up, so batches grow with the load by
themselves and a lone question is never held back (unless `max_wait_ms` asks for it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from app.archive.embed import Embedder
from app.errors import ModelUnavailable

logger = logging.getLogger(__name__)

# How long a question waits for its vectors. A batch takes milliseconds; a wait this long means
# the model call is stuck, and the caller gets a 503 instead of holding its thread forever.
TIMEOUT_S = 30.0
CLOSED = "The embedding model is shut down; no question can be read."


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: np.ndarray | None = None
    error: BaseException | None = None


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
        self.max_wait = max_wait_ms / 1000
        self.max_batch = max_batch
        self.timeout = timeout_s
        self.batches: list[int] = []  # sizes of the last few batches, for tests and benches
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        # Taken to queue a request and to queue the stop sign, so no request lands behind the
        # sign, where no worker would ever take it.
        self._closing = threading.Lock()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="embed-batcher", daemon=True)
        self._worker.start()

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if self._closed:  # a plain read; for queued requests the lock below decides
            raise ModelUnavailable(CLOSED)
        if len(texts) >= self.max_batch or progress:
            return self.inner.encode(texts, progress=progress)  # bulk work batches itself
        request = _Request(list(texts))
        with self._closing:
            if self._closed:
                raise ModelUnavailable(CLOSED)
            self._queue.put(request)
        if not request.done.wait(self.timeout):
            raise ModelUnavailable(f"The embedding model gave no answer in {self.timeout:g} s.")
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def close(self) -> None:
        """Serve what is queued, then stop; a later encode raises ModelUnavailable."""
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

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        """`first` plus whatever else is waiting, up to max_batch texts."""
        batch, size = [first], len(first.texts)
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
            size += len(item.texts)
        return batch, False

    def _serve(self, batch: list[_Request]) -> None:
        texts = [t for r in batch for t in r.texts]
        try:
            vectors = self.inner.encode(texts)
        except BaseException as exc:  # every waiting caller must wake up, with the cause
            for request in batch:
                request.error = exc
                request.done.set()
            return
        self.batches = [*self.batches[-99:], len(texts)]
        row = 0
        for request in batch:
            request.vectors = vectors[row : row + len(request.texts)]
            row += len(request.texts)
            request.done.set()
