"""The embedded index (a version folder: FAISS, bm25s, row-aligned files) as an ArchiveStore.

The service reads this index whole through live.Archive, which is faster on one machine;
this answers the same Protocol as the database (app/archive/backend.py) so that the reader's
per-question path and the store-level tests run over either. A chunk's id is its row in
the version; ids change with each write, as rows do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from app import files
from app.archive import store
from app.archive.backend import Frequencies, Hit
from app.archive.embed import Embedder
from app.archive.facets import Filters
from app.archive.ingest import revise, without
from app.archive.store import FileIndex, Index
from app.reader.question import parse
from app.reader.retrieve import Retriever
from app.reader.words import terms


class EmbeddedStore:
    def __init__(self, index_dir: Path, embedder: Embedder) -> None:
        self.index_dir, self.embedder = index_dir, embedder
        self._loaded: tuple[str | None, Index, Retriever] | None = None

    def _current(self) -> tuple[Index, Retriever]:
        version = store.current_version(self.index_dir)
        if self._loaded is None or self._loaded[0] != version:
            index = store.load(self.index_dir)
            self._loaded = (version, index, Retriever(index))
        return self._loaded[1], self._loaded[2]

    def generation(self) -> int:
        version = store.current_version(self.index_dir) or ""
        return hash(version)

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        index, retriever = self._current()
        if filters:
            rows = retriever.dense_rows_within(query, k, retriever.facets.mask(filters))
        else:
            rows = retriever.dense_rows(query, k)
        cosine = index.chunk_vectors[rows] @ query
        return [Hit(int(r), float(c)) for r, c in zip(rows, cosine, strict=True)]

    def lexical(self, question: str, k: int, filters: Filters | None = None) -> list[Hit]:
        _, retriever = self._current()
        scores = retriever.bm25_scores(parse(question))
        if filters:
            scores = np.where(retriever.facets.mask(filters), scores, 0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [Hit(int(r), float(scores[r])) for r in top if scores[r] > 0]

    def parts(self, chunk_ids: Sequence[int]) -> tuple[list[FileIndex], dict[int, int]]:
        index, _ = self._current()
        wanted = sorted(set(chunk_ids))  # rows are grouped by file in name order already
        by_file: dict[str, list[int]] = {}
        for row in wanted:
            by_file.setdefault(index.chunks[row].file, []).append(row)
        parts = [_part(index, name, rows) for name, rows in by_file.items()]
        return parts, {row: i for i, row in enumerate(wanted)}

    def frequencies(self, asked: Collection[str]) -> Frequencies:
        index, _ = self._current()
        counts: Counter[str] = Counter()
        for p in index.passages:
            spans = (p.text[s - p.start : e - p.start] for s, e in p.sentences)
            counts.update(frozenset().union(*map(terms, spans)) & set(asked))
        return Frequencies(len(index.passages), dict(counts))

    def files(self) -> dict[str, dict[str, Any]]:
        return self._current()[0].manifest.files

    def text(self, file: str) -> str | None:
        path = self._current()[0].corpus_dir / file
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def put(self, part: FileIndex, text: str, *, revision: dict[str, Any] | None = None) -> bool:
        """The corpus file first, then a new version with the article in (as publish does)."""
        with store.writing(self.index_dir):
            index, _ = self._current()
            files.write_text_atomically(index.corpus_dir / part.file, text)
            store.save(revise(index, self.embedder, put=[part]), self.index_dir)
        return True

    def withdraw(self, file: str, *, revision: dict[str, Any] | None = None) -> bool:
        with store.writing(self.index_dir):
            index, _ = self._current()
            if file not in index.files:
                return False
            (index.corpus_dir / file).unlink(missing_ok=True)
            store.save(without(index, self.embedder, file), self.index_dir)
        return True


def _part(index: Index, name: str, rows: list[int]) -> FileIndex:
    """The article `name` with just the chunks `rows` and their passages."""
    whole = index.files[name]
    chunks = [index.chunks[r] for r in rows]
    kept = sorted({index.passage_rows[(c.file, c.paragraph)] for c in chunks})
    sentence_rows = [
        np.arange(index.sentence_starts[p], index.sentence_starts[p + 1]) for p in kept
    ]
    sentences = np.concatenate([np.zeros(0, np.int64), *sentence_rows])
    signatures = index.signatures[kept] if len(index.signatures) else None
    return replace(
        whole,
        chunks=chunks,
        chunk_vectors=index.chunk_vectors[rows],
        passages=[index.passages[p] for p in kept],
        sentence_vectors=index.sentence_vectors[sentences],
        signatures=signatures,
    )
