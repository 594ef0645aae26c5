"""Candidate passages for a question: BM25 (bm25s), dense (FAISS), and their fusion."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import bm25s
import faiss
import numpy as np
import Stemmer

from app.store import Index

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


class Retriever:
    """Holds the lexical index beside the dense one; built once per loaded index."""

    def __init__(self, index: Index, fusion: Fusion | None = None) -> None:
        self.index = index
        self.fusion = fusion or Fusion()
        # One query at a time over a few thousand rows: threads only add contention.
        faiss.omp_set_num_threads(1)
        self.tokenizer = bm25s.tokenization.Tokenizer(
            stopwords="en", stemmer=Stemmer.Stemmer("english")
        )
        self.bm25 = bm25s.BM25()
        if index.chunks:
            tokens = self.tokenizer.tokenize(
                [c.context for c in index.chunks], show_progress=False, return_as="tuple"
            )
            self.bm25.index(tokens, show_progress=False)
        self.vocab = self.tokenizer.get_vocab_dict()
        self.stems = {i: stem for stem, i in self.vocab.items()}
        self.chunk_passage = np.array(
            [index.passage_rows[(c.file, c.paragraph)] for c in index.chunks], dtype=np.int64
        )

    def bm25_scores(self, question: str) -> np.ndarray:
        """BM25 score of every chunk (zeros when no question word is in the archive)."""
        # Token ids, mapped back through our own table: bm25s's decode() rebuilds its reverse
        # vocabulary on every call, which cost 14 ms a question.
        ids = self.tokenizer.tokenize(
            [question], update_vocab=False, return_as="ids", show_progress=False
        )[0]
        known = [self.stems[i] for i in ids if self.stems.get(i)]
        if not known or not self.index.chunks:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    def dense_scores(self, query: np.ndarray, depth: int) -> dict[int, float]:
        """Cosine of the best `depth` chunks, by FAISS."""
        if not self.index.chunks:
            return {}
        scores, ids = self.index.faiss.search(
            query.reshape(1, -1), min(depth, len(self.index.chunks))
        )
        return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}

    def search(
        self, question: str, query: np.ndarray, *, k: int, method: Method = "hybrid"
    ) -> list[Candidate]:
        """The k best passages; a passage scores as its best chunk."""
        depth = self.fusion.depth
        lexical = self.bm25_scores(question) if method != "dense" else None
        dense = self.dense_scores(query, depth) if method != "bm25" else {}
        rows = set(dense)
        if lexical is not None:
            top = np.argpartition(-lexical, min(depth, len(lexical) - 1))[:depth]
            rows |= {int(r) for r in top if lexical[r] > 0}
        if not rows:
            return []
        rows_array = np.fromiter(rows, dtype=np.int64)
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
        best: dict[int, Candidate] = {}
        for chunk_row, f, c, b in zip(rows_array, fused, cosine, lex_norm, strict=True):
            passage = int(self.chunk_passage[chunk_row])
            if passage not in best or f > best[passage].score:
                best[passage] = Candidate(passage, float(f), float(c), float(b), float(b) * lex_max)
        return sorted(best.values(), key=lambda c: -c.score)[:k]
