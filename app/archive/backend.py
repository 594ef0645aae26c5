"""Where the archive lives, as the reader and the write path see it: one small Protocol.

Two stores answer it: the embedded index (FAISS and bm25s over a version folder; the
default, no server needed; app/embedded_store.py) and PostgreSQL with pgvector
(app/archive/postgres.py, chosen by NEWSROOM_DATABASE_URL). The reader asks for the best
chunks of a question, then for the articles, passages, sentences and vectors of just those
(app/reader/views.py); it never learns which store answered.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.archive.facets import Filters
from app.archive.store import FileIndex


@dataclass(frozen=True)
class Hit:
    chunk: int  # the chunk's id in its store
    score: float  # cosine for dense hits, BM25 for lexical ones


@dataclass(frozen=True)
class Frequencies:
    """How many passages the archive holds, and how many hold each asked-for term."""

    passages: int
    terms: dict[str, int]


class ArchiveStore(Protocol):
    def generation(self) -> int:
        """A number that changes with every committed write."""
        ...

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k chunks nearest `query` (a unit vector) by cosine, among those the filters
        allow; k of them whenever that many pass."""
        ...

    def lexical(self, question: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k best chunks for the question's words by BM25, among those the filters allow."""
        ...

    def parts(self, chunk_ids: Sequence[int]) -> tuple[list[FileIndex], dict[int, int]]:
        """The articles of these chunks, each with just those chunks and their passages
        (sentences and sentence vectors too), files by name; and each chunk id's row in them."""
        ...

    def frequencies(self, terms: Collection[str]) -> Frequencies:
        """Document frequencies of the reader's terms (app/reader/words.py) over passages."""
        ...

    def files(self) -> dict[str, dict[str, Any]]:
        """Every article as a manifest lists it: sha256, title, paragraphs, chunks, meta."""
        ...

    def text(self, file: str) -> str | None:
        """The article's text as cited (every citation's offsets slice it)."""
        ...

    def put(self, part: FileIndex, text: str, *, revision: dict[str, Any] | None = None) -> bool:
        """Add or replace one article, all of it or nothing."""
        ...

    def withdraw(self, file: str, *, revision: dict[str, Any] | None = None) -> bool:
        """Take one article out, all of it or nothing; False if it was not there."""
        ...
