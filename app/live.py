"""The loaded archive: one index with its retriever and reader, swapped as a whole."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import bm25s
import numpy as np
import Stemmer

from app.archive import corpus, language, store
from app.archive.embed import Embedder
from app.archive.store import Index
from app.errors import IndexMismatch, IndexNotReady
from app.reader import evidence, retrieve, termsets
from app.reader.answer import Reader
from app.reader.evidence import Lexicon
from app.reader.linear import ReaderModels, load_models
from app.reader.retrieve import Retriever

logger = logging.getLogger(__name__)


class Archive:
    """What requests read; `reader` is replaced in one assignment, so a request sees the old
    index or the new one, never half of each.

    Several processes may serve (and write) one index folder. Each request compares the
    version `current` points at with the one loaded (a readlink) and loads the new one first,
    so an answer never comes from an index older than the last write that finished anywhere.
    """

    def __init__(
        self, index_dir: Path, embedder: Embedder, models: ReaderModels | None = None
    ) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self.models = models or load_models()  # once: every index version shares them
        self._reader: Reader | None = None
        self._version: str | None = None
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
        self._reader = Reader(index, self.embedder, retriever, models=self.models, lexicon=lexicon)
        self._version = version

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


# --- the lexical parts, cached beside each version ------------------------------------------
#
# BM25 and the reader's Lexicon are built from an index's text in about 1.5 s on SQuAD, a third
# of a server's start. They are pickled into the version's folder by the first process that
# builds them (or by `python -m app index`), and every later start and every other worker
# loads them in 0.1 s. The file name carries a hash of the code that builds them, so a change
# to that code is never served stale parts; a version folder is never modified otherwise.

_BUILDERS = (corpus, evidence, language, retrieve, store, termsets)


def _code_key() -> str:
    digest = hashlib.sha256()
    for module in _BUILDERS:
        digest.update(Path(str(module.__file__)).read_bytes())
    for part in (bm25s.__version__, np.__version__, sys.version):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


CODE_KEY = _code_key()


def parts_path(index_dir: Path, version: str) -> Path:
    return index_dir / version / f"lexical-{CODE_KEY}.pickle"


class _Pickler(pickle.Pickler):
    """Leaves the index out (it is loaded already) and the stemmers (C objects, rebuilt)."""

    def __init__(self, file: IO[bytes], index: Index) -> None:
        super().__init__(file, protocol=5)
        self.index = index

    def persistent_id(self, obj: object) -> str | None:
        if obj is self.index:
            return "index"
        return "stemmer" if isinstance(obj, Stemmer.Stemmer) else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], index: Index) -> None:
        super().__init__(file)
        self.index = index

    def persistent_load(self, pid: object) -> object:
        if pid == "index":
            return self.index
        if pid == "stemmer":
            return Stemmer.Stemmer("english")
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def lexical_parts(index_dir: Path, version: str, index: Index) -> tuple[Lexicon, Retriever]:
    """The version's Lexicon and Retriever: from the cache beside it, else built and cached."""
    path = parts_path(index_dir, version)
    try:
        with open(path, "rb") as handle:
            lexicon, retriever = _Unpickler(handle, index).load()
        return lexicon, retriever
    except FileNotFoundError:
        pass
    except Exception:  # a damaged cache is rebuilt, never fatal
        logger.warning("rebuilding the unreadable %s", path, exc_info=True)
    lexicon, retriever = Lexicon(index), Retriever(index)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(partial, "wb") as handle:
            _Pickler(handle, index).dump((lexicon, retriever))
        os.replace(partial, path)
    except OSError as exc:  # a read-only snapshot: build at every start, as before
        logger.info("cannot cache the lexical parts in %s: %s", path.parent, exc)
        partial.unlink(missing_ok=True)
    return lexicon, retriever


def prepare(index_dir: Path) -> None:
    """Build the current version's cached parts now (after indexing), not at a server's start."""
    version = store.current_version(index_dir)
    if version is not None and not parts_path(index_dir, version).exists():
        lexical_parts(index_dir, version, store.load(index_dir, version))
