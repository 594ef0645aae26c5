"""The loaded archive: one index with its retriever and reader, swapped as a whole."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.archive import revisions, store
from app.archive.corpus import Article, read_text
from app.archive.embed import Embedder
from app.archive.extracted import cited_article
from app.archive.store import Index
from app.errors import BadDocument, IndexMismatch, IndexNotReady
from app.reader.answer import Reader
from app.reader.lexical_cache import lexical_parts
from app.reader.linear import ReaderModels, load_models
from app.reader.neural_spans import NeuralSpans

logger = logging.getLogger(__name__)


class Archive:
    """What requests read; `reader` is replaced in one assignment, so a request sees the old
    index or the new one, never half of each.

    Several processes may serve (and write) one index folder. Each request compares the
    version `current` points at with the one loaded (a readlink) and loads the new one first,
    so an answer never comes from an index older than the last write that finished anywhere.
    """

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        models: ReaderModels | None = None,
        span_reader: NeuralSpans | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self.models = models or load_models()  # once: every index version shares them
        self.span_reader = span_reader  # likewise; None: the trees cut the short answer
        self._reader: Reader | None = None
        self._version: str | None = None
        # The version the reader answers from (the one above may be one that failed to load).
        self.served_version = ""
        self._loading = threading.Lock()
        self.problem = f"No index loaded from {index_dir}"

    def load(self) -> None:
        """Load the current index; a missing one leaves the archive not ready (503)."""
        version = store.current_version(self.index_dir)
        try:
            manifest = store.read_manifest(self.index_dir, version or store.CURRENT)
        except IndexNotReady as exc:
            self.problem = str(exc)
            self._version = version  # keep serving what was loaded, if anything; don't retry
            logger.warning("%s", exc)
            return
        store.check_compatible(
            manifest, model=self.embedder.name, dim=self.embedder.dim, index_dir=self.index_dir
        )
        assert version is not None  # a manifest was found through the link
        self.use(store.load(self.index_dir, version), version)

    def use(self, index: Index, version: str) -> None:
        """Serve from `index` from now on: everything is built first, then one assignment."""
        lexicon, retriever = lexical_parts(self.index_dir, version, index)
        indexed = {name: part.sha256 for name, part in index.files.items()}
        corrections = revisions.marks_for(self.index_dir, indexed)
        self._reader = Reader(
            index,
            self.embedder,
            retriever,
            models=self.models,
            lexicon=lexicon,
            corrections=corrections,
            span_reader=self.span_reader,
        )
        self._version = self.served_version = version

    @contextmanager
    def writing(self) -> Iterator[Reader]:
        """The write lock (across processes), and the reader of the latest version to write on."""
        with store.writing(self.index_dir):
            yield self.reader

    @property
    def reader(self) -> Reader:
        if store.current_version(self.index_dir) != self._version:
            self._catch_up()
        if self._reader is None:
            raise IndexNotReady(self.problem)
        return self._reader

    def text(self, file: str) -> str | None:
        """The article's text as the corpus holds it now (None if it is not there)."""
        try:
            return read_text(self.reader.index.corpus_dir / file)
        except BadDocument:
            return None

    def history(self, file: str) -> list[revisions.Revision]:
        """The article's settled revisions, oldest first."""
        return revisions.settled(revisions.history(self.index_dir, file))

    def cited(self, file: str, sha256: str) -> Article:
        """The indexed article as its citations count into it."""
        return cited_article(self.index_dir, self.reader.index.corpus_dir, file, sha256)

    @property
    def ready(self) -> bool:
        return self._reader is not None

    def _catch_up(self) -> None:
        """Another process wrote a new version: load it (once, whoever asks first)."""
        with self._loading:
            version = store.current_version(self.index_dir)
            if version == self._version:
                return
            logger.info("the index changed on disk; loading %s", version)
            try:
                self.load()
            except IndexMismatch as exc:
                if self._reader is None:
                    raise
                # Built for another model, say: keep answering from the version loaded.
                logger.error("not serving %s: %s", version, exc)
                self._version = version
