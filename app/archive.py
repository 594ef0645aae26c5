"""The loaded archive: one index with its retriever and reader, swapped as a whole."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from app import store
from app.answer import Reader
from app.embed import Embedder
from app.errors import IndexNotReady
from app.retrieve import Retriever
from app.store import Index

logger = logging.getLogger(__name__)


class Archive:
    """What requests read; `reader` is replaced in one assignment, so a request sees the old
    index or the new one, never half of each."""

    def __init__(self, index_dir: Path, embedder: Embedder) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self._reader: Reader | None = None
        self.problem = f"No index loaded from {index_dir}"
        # Writers take turns (app.publish); readers never wait for it.
        self.write_lock = threading.Lock()

    def load(self) -> None:
        """Load the current index; a missing one leaves the archive not ready (503)."""
        try:
            manifest = store.read_manifest(self.index_dir)
        except IndexNotReady as exc:
            self.problem = str(exc)
            logger.warning("%s", exc)
            return
        store.check_compatible(
            manifest, model=self.embedder.name, dim=self.embedder.dim, index_dir=self.index_dir
        )
        self.use(store.load(self.index_dir))

    def use(self, index: Index) -> None:
        """Serve from `index` from now on: everything is built first, then one assignment."""
        self._reader = Reader(index, self.embedder, Retriever(index))

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            raise IndexNotReady(self.problem)
        return self._reader

    @property
    def ready(self) -> bool:
        return self._reader is not None
