"""The batched evidence features equal the per-passage formulas the reader was trained on."""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np

from app.archive.ingest import build_index
from app.archive.store import Index, load
from app.reader.evidence import (
    PASSAGE_FEATURES,
    SENTENCE_FEATURES,
    passage_features,
    sentence_features,
)
from app.reader.lexicon import Lexicon
from app.reader.question import Question, parse
from app.reader.retrieve import Candidate, Retriever
from app.reader.words import bigrams, terms
from tests.conftest import SHARED

SQUAD = SHARED / "eval" / "squad-v1.1-dev"
SEED_QUESTIONS = SHARED / "eval" / "seeds" / "questions.jsonl"


class Reference:
    """The features as first written: a Python loop per candidate and per sentence."""

    def __init__(self, index: Index, lexicon: Lexicon) -> None:
        self.index = index
        self.lexicon = lexicon
        self.sentences: list[list[str]] = [
            [p.text[s - p.start : e - p.start] for s, e in p.sentences] for p in index.passages
        ]
        self.labels = [
            [
                frozenset(lb for es, ee, lb in p.entities if es >= s and ee <= e)
                for s, e in p.sentences
            ]
            for p in index.passages
        ]

    def share(self, q: Question, found: frozenset[str]) -> float:
        """The IDF-weighted share of the question's terms that `found` holds."""
        weights = self.lexicon.weights(q)
        total = sum(weights.values())
        return sum(weights[t] for t in q.terms & found) / total if total else 0.0

    def sentence_features(self, q: Question, query: np.ndarray, row: int) -> np.ndarray:
        lo, hi = self.index.sentence_starts[row : row + 2]
        cosine = self.index.sentence_vectors[lo:hi] @ query
        found = [terms(s) for s in self.sentences[row]]
        idf = [self.share(q, f) for f in found]
        last = len(found) - 1
        # Terms no other sentence of the paragraph has.
        unique = [
            f - frozenset().union(*(g for j, g in enumerate(found) if j != i))
            for i, f in enumerate(found)
        ]
        rows = [
            (
                cosine[i],
                cosine[i] - cosine.max(),
                len(q.terms & f) / max(len(q.terms), 1),
                idf[i],
                float(bool(q.types & self.labels[row][i])),
                float(i == 0),
                float(bool(q.types)),
                cosine[i - 1] if i > 0 else 0.0,
                cosine[i + 1] if i < last else 0.0,
                idf[i - 1] if i > 0 else 0.0,
                idf[i + 1] if i < last else 0.0,
                float(any(ch.isdigit() for ch in self.sentences[row][i])),
                self.share(q, unique[i]),
                math.log1p(len(re.findall(r"\w+", self.sentences[row][i]))),
            )
            for i, f in enumerate(found)
        ]
        return np.asarray(rows, dtype=np.float32).reshape(-1, len(SENTENCE_FEATURES))

    def passage_features(
        self, q: Question, candidates: list[Candidate], best: list[np.ndarray]
    ) -> np.ndarray:
        rows = []
        for rank, (c, s) in enumerate(zip(candidates, best, strict=True), start=1):
            p = self.index.passages[c.row]
            found = frozenset().union(*(terms(t) for t in self.sentences[c.row]))
            labels = frozenset().union(*self.labels[c.row])
            rows.append(
                (
                    *(c.score, c.dense, c.bm25, math.log1p(c.bm25_raw), 1.0 / rank),
                    c.score - candidates[0].score,
                    *(s[0], s[2], s[3], self.share(q, found)),
                    self.share(q, terms(f"{p.title} {p.section}")),
                    s[4],
                    float(bool(q.types & labels)),
                    len(q.bigrams & bigrams(p.text)) / max(len(q.bigrams), 1),
                    len(q.terms & found) / max(len(q.terms), 1),
                )
            )
        table = np.asarray(rows, dtype=np.float32)
        gaps = [
            table[:, PASSAGE_FEATURES.index(name)] - table[:, PASSAGE_FEATURES.index(name)].max()
            for name in ("dense", "sent_cos", "sent_idf", "passage_idf")
        ]
        unique = np.asarray([s[12] for s in best], dtype=np.float32)
        return np.column_stack(
            [table[:, :13], *gaps, table[:, 13:], unique, unique - unique.max()]
        ).astype(np.float32)


def assert_same_features(index: Index, embedder, questions: list[str]) -> None:
    lexicon, retriever = Lexicon(index), Retriever(index)
    reference = Reference(index, lexicon)
    for text, query in zip(questions, embedder.encode(questions), strict=True):
        q = parse(text)
        candidates = retriever.search(q, query, k=30)
        batched = sentence_features(lexicon, q, query, [c.row for c in candidates])
        expected = [reference.sentence_features(q, query, c.row) for c in candidates]
        assert len(batched) == len(expected)
        for got, want in zip(batched, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        best = [f[int(np.argmax(f[:, 0]))] for f in expected]
        np.testing.assert_allclose(
            passage_features(lexicon, q, candidates, best),
            reference.passage_features(q, candidates, best),
            rtol=1e-5,
            atol=1e-6,
        )


def test_batched_features_equal_the_per_passage_formulas_on_seed_questions(seeds_index, embedder):
    questions = [json.loads(line)["question"] for line in SEED_QUESTIONS.read_text().splitlines()]
    assert_same_features(load(seeds_index), embedder, questions)


def test_batched_features_equal_the_per_passage_formulas_on_squad(tmp_path, embedder):
    # Three SQuAD articles: the first 60 dev questions are about the first of them, and the
    # other two compete with it for the candidates.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (
        "Computational_complexity_theory.txt",
        "1973_oil_crisis.txt",
        "Amazon_rainforest.txt",
    ):
        shutil.copy(SQUAD / "corpus" / name, corpus / name)
    build_index(corpus, tmp_path / "index", model=embedder.name, load_embedder=lambda: embedder)
    lines = (SQUAD / "dev.jsonl").read_text().splitlines()[:60]
    questions = [json.loads(line)["question"] for line in lines]
    assert_same_features(load(tmp_path / "index"), embedder, questions)


def test_no_candidates_give_no_feature_rows(seeds_index, embedder):
    index = load(seeds_index)
    lexicon = Lexicon(index)
    q, query = parse("Who?"), embedder.encode(["Who?"])[0]
    assert sentence_features(lexicon, q, query, []) == []
    assert passage_features(lexicon, q, [], []).shape == (0, len(PASSAGE_FEATURES))
