"""Reading a question from any store (app/archive/backend.py): its best chunks first, then
an index of just those, which the Reader reads as it reads a whole one.

Per question: the store's dense and BM25 top chunks (filters applied inside the store), the
articles, passages, sentences and vectors of those chunks, and the document frequencies of
their terms over the whole archive, so the reader's features weigh words as they would over
the full index. Nothing of the archive is held between questions except its article list,
refreshed when the store's generation moves.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property

import bm25s
import numpy as np

from app.archive.backend import ArchiveStore, Hit
from app.archive.corpus import CHUNKING_VERSION
from app.archive.embed import Embedder
from app.archive.facets import Filters
from app.archive.metadata import Meta
from app.archive.revisions import Correction
from app.archive.store import FileIndex, Index, Manifest
from app.reader.answer import Reader, Result, Tuning
from app.reader.lexicon import Lexicon
from app.reader.linear import ReaderModels
from app.reader.neural_spans import NeuralSpans
from app.reader.question import parse
from app.reader.retrieve import Fusion, Method, Retriever
from app.reader.scope import Dates, narrow, read

Corrections = Callable[[dict[str, str]], dict[str, dict[int, Correction]]]


class ViewReader:
    """Answers questions from a store; `index` is the article list (no chunks), for the
    routes that list or check articles."""

    def __init__(
        self,
        store: ArchiveStore,
        embedder: Embedder,
        *,
        models: ReaderModels,
        span_reader: NeuralSpans | None = None,
        corrections: Corrections | None = None,
        tuning: Tuning | None = None,
        fusion: Fusion | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.models = models
        self.span_reader = span_reader
        self.corrections = corrections or (lambda indexed: {})
        self.tuning = tuning or Tuning()
        self.fusion = fusion or Fusion()
        self._catalog: tuple[int, _Catalog] | None = None
        self._refreshing = threading.Lock()

    @property
    def index(self) -> Index:
        return self._current().index

    @property
    def retriever(self) -> Retriever:
        return self._current().retriever

    def _current(self) -> _Catalog:
        generation = self.store.generation()
        with self._refreshing:
            if self._catalog is None or self._catalog[0] != generation:
                files = self.store.files()
                self._catalog = (generation, _Catalog(files, self.embedder))
            return self._catalog[1]

    def ask(
        self,
        question: str,
        *,
        top_k: int = 3,
        method: Method = "hybrid",
        filters: Filters | None = None,
        dates: Dates = "read",
    ) -> Result:
        """As Reader.ask, over the chunks the store finds for the question."""
        filters = filters or Filters()
        catalog = self._current()
        scope = None
        if dates == "read" and catalog.retriever.dated:
            scope = read(question, filters.as_of or datetime.now(UTC).date())
        query = self.embedder.encode([question])[0]
        dense, lexical = self._hits(question, query, method, narrow(filters, scope))
        if not dense and not lexical and scope is not None and scope.has_range:
            # No article from then: the reader drops the range too and reads them as words.
            dense, lexical = self._hits(question, query, method, filters)
        reader = self._reader(question, query, dense, lexical, catalog)
        return reader.ask(question, top_k=top_k, method=method, filters=filters, dates=dates)

    def over_hits(self, question: str, filters: Filters | None = None) -> Reader:
        """A Reader over just the chunks the store finds for the question (hybrid), for the
        callers that rank passages themselves (the assistants' search tool)."""
        catalog = self._current()
        query = self.embedder.encode([question])[0]
        dense, lexical = self._hits(question, query, "hybrid", filters or Filters())
        return self._reader(question, query, dense, lexical, catalog)

    def _hits(
        self, question: str, query: np.ndarray, method: Method, filters: Filters
    ) -> tuple[list[Hit], list[Hit]]:
        depth, narrowed = self.fusion.depth, filters or None
        dense = self.store.dense(query, depth, narrowed) if method != "bm25" else []
        lexical = self.store.lexical(question, depth, narrowed) if method != "dense" else []
        return dense, lexical

    def _reader(
        self,
        question: str,
        query: np.ndarray,
        dense: list[Hit],
        lexical: list[Hit],
        catalog: _Catalog,
    ) -> Reader:
        ids = list(dict.fromkeys(h.chunk for h in [*dense, *lexical]))
        parts, rows = self.store.parts(ids)
        view = Index(_manifest(catalog.index.manifest, parts), parts, index_type="flat")
        dense_rows = np.asarray([rows[h.chunk] for h in dense if h.chunk in rows], np.int64)
        scores = np.zeros(len(view.chunks), dtype=np.float32)
        for h in lexical:
            if h.chunk in rows:
                scores[rows[h.chunk]] = h.score
        retriever = _ViewRetriever(view, self.fusion, dense_rows, scores, catalog.retriever.dated)
        indexed = {name: part.sha256 for name, part in view.files.items()}
        return Reader(
            view,
            _Known(self.embedder, question, query),
            retriever,
            self.tuning,
            self.models,
            self._lexicon(view, question),
            self.corrections(indexed),
            self.span_reader,
        )

    def _lexicon(self, view: Index, question: str) -> Lexicon:
        """The view's Lexicon with the whole archive's IDF (the same formula Lexicon uses)."""
        lexicon = Lexicon(view)
        found = self.store.frequencies(set(lexicon.vocab) | parse(question).terms)
        n = found.passages
        lexicon.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in found.terms.items()}
        lexicon.unseen_idf = math.log((n + 1) / 0.5)
        return lexicon


class _ViewRetriever(Retriever):
    """The store's hits as a Retriever over the view: its dense rows in the store's order,
    its BM25 scores, and whether the whole archive (not just the view) is dated."""

    def __init__(
        self,
        view: Index,
        fusion: Fusion,
        dense_rows: np.ndarray,
        lexical: np.ndarray,
        dated: bool,
    ) -> None:
        super().__init__(view, fusion, bm25=bm25s.BM25())
        self._dense_rows, self._lexical, self._archive_dated = dense_rows, lexical, dated

    @cached_property
    def dated(self) -> bool:
        return self._archive_dated

    def bm25_scores(self, question: object) -> np.ndarray:
        return self._lexical

    def dense_rows(self, query: np.ndarray, depth: int) -> np.ndarray:
        return self._dense_rows[:depth]

    def dense_rows_within(self, query: np.ndarray, depth: int, allowed: np.ndarray) -> np.ndarray:
        return self._dense_rows[allowed[self._dense_rows]][:depth]


class _Catalog:
    """Every article's name, hash and metadata as an Index without chunks."""

    index: Index
    retriever: Retriever

    def __init__(self, files: dict[str, dict[str, object]], embedder: Embedder) -> None:
        manifest = Manifest(embedder.name, embedder.dim, CHUNKING_VERSION, "", files)
        parts = [_empty(name, info, embedder.dim) for name, info in sorted(files.items())]
        self.index = Index(manifest, parts, index_type="flat")
        self.retriever = Retriever(self.index, bm25=bm25s.BM25())


def _empty(name: str, info: dict[str, object], dim: int) -> FileIndex:
    nothing = np.zeros((0, dim), dtype=np.float32)
    meta = info.get("meta")
    return FileIndex(
        name,
        str(info["sha256"]),
        str(info["title"]),
        int(str(info["paragraphs"])),
        [],
        nothing,
        [],
        nothing,
        Meta.from_dict(meta if isinstance(meta, dict) else None),
        copies=tuple(info.get("copies", ()) or ()),  # type: ignore[arg-type]
    )


def _manifest(catalog: Manifest, parts: list[FileIndex]) -> Manifest:
    files = {p.file: catalog.files.get(p.file, {}) for p in parts}
    return Manifest(catalog.model, catalog.dim, catalog.chunking_version, "", files)


class _Known:
    """The embedder, with this question's vector already known (it was searched with)."""

    def __init__(self, embedder: Embedder, question: str, query: np.ndarray) -> None:
        self.name, self.dim = embedder.name, embedder.dim
        self.embedder, self.question, self.query = embedder, question, query

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if texts == [self.question]:
            return self.query[None, :]
        return self.embedder.encode(texts, progress=progress)
