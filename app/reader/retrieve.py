"""Candidate passages for a question: BM25 (bm25s), dense (FAISS), and their fusion."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import bm25s
import faiss
import numpy as np
import Stemmer

from app.archive import dense_index
from app.archive.facets import Facets
from app.archive.store import Index
from app.reader.question import Question

logger = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

Method = Literal["hybrid", "bm25", "dense"]


@dataclass(frozen=True)
class Candidate:
    """A passage (row of index.passages) with the evidence that found it."""

    row: int
    score: float
    dense: float
    bm25: float
    bm25_raw: float = 0.0


@dataclass(frozen=True)
class Fusion:
    dense_weight: float = 0.5
    # How many chunks each method contributes before fusion.
    depth: int = 100
    # A filter that allows at most this many chunks is searched exactly, by cosine over just
    # those rows (a few ms at this size); more go to FAISS with a selector of the allowed rows.
    exact_below: int = 20_000


def lexical_bm25(index: Index) -> bm25s.BM25:
    """BM25 over the chunks' text (stemmed, bm25s's English stopwords left out)."""
    bm25 = bm25s.BM25()
    if index.chunks:
        tokenizer = bm25s.tokenization.Tokenizer(stopwords="en", stemmer=Stemmer.Stemmer("english"))
        tokens = tokenizer.tokenize(
            [c.context for c in index.chunks], show_progress=False, return_as="tuple"
        )
        bm25.index(tokens, show_progress=False)
    return bm25


class Retriever:
    """Holds the lexical index beside the dense one; built once per loaded index."""

    def __init__(
        self, index: Index, fusion: Fusion | None = None, bm25: bm25s.BM25 | None = None
    ) -> None:
        """`bm25`: the index's BM25, as `lexical_bm25` built it, when saved beside it."""
        self.index = index
        self.fusion = fusion or Fusion()
        self.bm25 = bm25 if bm25 is not None else lexical_bm25(index)
        # The stems BM25 knows ("" stands for a chunk with no words and matches nothing).
        self.vocab = frozenset(getattr(self.bm25, "vocab_dict", None) or ()) - {""}
        self.chunk_passage = np.array(
            [index.passage_rows[(c.file, c.paragraph)] for c in index.chunks], dtype=np.int64
        )

    @cached_property
    def facets(self) -> Facets:
        """Built at the first filtered question, so an unfiltered archive never pays for it."""
        return Facets(self.index)

    @cached_property
    def dated(self) -> bool:
        """Whether any article carries a published date (no chunk arrays needed to tell)."""
        return any(f.meta.published for f in self.index.files.values())

    def bm25_scores(self, question: Question) -> np.ndarray:
        """BM25 score of every chunk (zeros when no question word is in the archive)."""
        known = [t for t in question.bm25_terms if t in self.vocab]
        if not known or not self.index.chunks:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    def dense_rows(self, query: np.ndarray, depth: int) -> np.ndarray:
        """The best `depth` chunks by cosine, by FAISS."""
        if not self.index.chunks:
            return np.zeros(0, dtype=np.int64)
        # One query at a time: more threads only add contention. OpenMP keeps the thread count
        # per calling thread, and /ask runs in a pool of threads FastAPI starts, each of which
        # would otherwise search with every core and spin after each search (in process, from a
        # thread pool: 12.6 -> 7.7 ms of CPU per question, same latency).
        faiss.omp_set_num_threads(1)
        _, ids = self.index.faiss.search(query.reshape(1, -1), min(depth, len(self.index.chunks)))
        return ids[0][ids[0] >= 0].astype(np.int64)

    def dense_rows_within(self, query: np.ndarray, depth: int, allowed: np.ndarray) -> np.ndarray:
        """The best `depth` chunks by cosine among the `allowed` rows (a boolean mask)."""
        rows = np.flatnonzero(allowed)
        if len(rows) <= self.fusion.exact_below:
            cosine = self.index.chunk_vectors[rows] @ query
            return rows[np.argsort(-cosine, kind="stable")[:depth]]
        faiss.omp_set_num_threads(1)  # as in dense_rows
        return dense_index.search_within(self.index.faiss, query, min(depth, len(rows)), allowed)

    def search(
        self,
        question: Question,
        query: np.ndarray,
        *,
        k: int,
        method: Method = "hybrid",
        allowed: np.ndarray | None = None,
    ) -> list[Candidate]:
        """The k best passages; a passage scores as its best chunk. Equal scores go to the
        lower passage row, and within a passage to the lower chunk row. `allowed`: a boolean
        mask over chunk rows (a filter); both methods search only among those rows."""
        depth = self.fusion.depth
        lexical = self.bm25_scores(question) if method != "dense" else None
        if allowed is not None and lexical is not None:
            lexical = np.where(allowed, lexical, 0).astype(np.float32)  # 0: never a candidate
        found = [self._dense(query, depth, allowed) if method != "bm25" else np.zeros(0, np.int64)]
        if lexical is not None:
            top = np.argpartition(-lexical, min(depth, len(lexical) - 1))[:depth]
            found.append(top[lexical[top] > 0])
        rows_array = np.unique(np.concatenate(found))
        if not len(rows_array):
            return []
        cosine = self.index.chunk_vectors[rows_array] @ query
        lex = lexical[rows_array] if lexical is not None else np.zeros(len(rows_array))
        lex_max = float(lex.max())
        lex_norm = lex / lex_max if lex_max > 0 else lex
        if method == "bm25":
            fused = lex_norm
        elif method == "dense":
            fused = cosine
        else:
            w = self.fusion.dense_weight
            fused = w * cosine + (1 - w) * lex_norm
        # Each passage's best chunk: sort by passage, best first within it, keep the first.
        passage = self.chunk_passage[rows_array]
        order = np.lexsort((-fused, passage))
        keep = order[np.r_[True, passage[order][1:] != passage[order][:-1]]]
        ranked = keep[np.lexsort((passage[keep], -fused[keep]))][:k]
        return [
            Candidate(
                int(passage[i]), float(fused[i]), float(cosine[i]), float(lex_norm[i]),
                float(lex_norm[i]) * lex_max,
            )
            for i in ranked
        ]  # fmt: skip

    def _dense(self, query: np.ndarray, depth: int, allowed: np.ndarray | None) -> np.ndarray:
        if allowed is None:
            return self.dense_rows(query, depth)
        return self.dense_rows_within(query, depth, allowed)
