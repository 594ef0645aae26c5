"""What speaks for a passage, and for each of its sentences, answering a question.

The numbers here are the inputs of the reader's small linear models (app/linear.py); the
names in PASSAGE_FEATURES, SENTENCE_FEATURES and QUESTION_FEATURES are the columns the trained
weights refer to, so renaming one means retraining (train/train_reader.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import Stemmer

from app.retrieve import Candidate
from app.span import asks
from app.store import Index

_TERM = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a an and are as at be by did do does for from had has have how in is it its of on or
    that the their this to was were what when where which who whom whose why with would
    could should can will much many""".split()  # noqa: SIM905
)

PASSAGE_FEATURES = (
    "fused",
    "dense",
    "bm25",
    "bm25_log",
    "inv_rank",
    "fused_gap",
    "sent_cos",
    "sent_overlap",
    "sent_idf",
    "passage_idf",
    "title_idf",
    "type_in_sentence",
    "type_in_passage",
    "dense_gap",
    "sent_cos_gap",
    "sent_idf_gap",
    "passage_idf_gap",
    "bigrams",
    "passage_overlap",
)
# Gaps to the best candidate: a passage competes with the others retrieved for the question.
_GAPS = {
    "dense_gap": "dense",
    "sent_cos_gap": "sent_cos",
    "sent_idf_gap": "sent_idf",
    "passage_idf_gap": "passage_idf",
}
# A sentence that answers often follows the one that names the subject ("It was ..."), so
# the neighbours' match counts too.
SENTENCE_FEATURES = (
    "cos", "cos_gap", "overlap", "idf", "type", "first", "typed", "prev_cos", "next_cos",
    "prev_idf", "next_idf", "digits",
)  # fmt: skip
# Nothing here may depend on the archive's size: the same model judges a two-article archive
# and a fifty-article one. Raw BM25 and IDF shares do (a word a tiny archive has never seen
# gets the highest IDF, so a fair question looked unanswerable there); plain shares of the
# question's own words and cosines do not.
# Nor on the other candidates: the passage model's logit is relative to them, so it is left out.
QUESTION_FEATURES = (
    "top_dense", "top_sent_cos", "top_overlap", "top_passage_overlap", "top_bigrams",
)  # fmt: skip

_stemmer = Stemmer.Stemmer("english")


def stems(text: str) -> list[str]:
    """Stemmed content words in order: 'paid' meets 'pay', 'the' meets nothing."""
    words = [w for w in (m.group().lower() for m in _TERM.finditer(text)) if w not in STOPWORDS]
    return _stemmer.stemWords(words)


def terms(text: str) -> frozenset[str]:
    return frozenset(stems(text))


def bigrams(text: str) -> frozenset[tuple[str, str]]:
    """Neighbouring content words: a question that reuses a phrase of the passage."""
    words = stems(text)
    return frozenset(zip(words, words[1:], strict=False))


@dataclass(frozen=True)
class Question:
    """A question as the reader weighs it: its vector, its terms with weights, asked types."""

    query: np.ndarray
    terms: frozenset[str]
    weights: dict[str, float]
    types: frozenset[str]
    asks: str = "other"
    bigrams: frozenset[tuple[str, str]] = frozenset()

    def share(self, found: frozenset[str]) -> float:
        """The IDF-weighted share of the question's terms that `found` contains."""
        total = sum(self.weights.values())
        return sum(self.weights[t] for t in self.terms & found) / total if total else 0.0


class Lexicon:
    """Per-index facts computed once: term IDF, each sentence's terms and entity labels."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.sentence_terms: list[list[frozenset[str]]] = []
        self.sentence_labels: list[list[frozenset[str]]] = []
        self.title_terms: list[frozenset[str]] = []
        self.sentence_digits: list[list[bool]] = []
        for p in index.passages:
            spans = [p.text[s - p.start : e - p.start] for s, e in p.sentences]
            self.sentence_terms.append([terms(s) for s in spans])
            self.sentence_digits.append([any(ch.isdigit() for ch in s) for s in spans])
            self.sentence_labels.append(
                [
                    frozenset(lb for es, ee, lb in p.entities if es >= s and ee <= e)
                    for s, e in p.sentences
                ]
            )
            self.title_terms.append(terms(f"{p.title} {p.section}"))
        self.passage_terms = [frozenset().union(*ts) for ts in self.sentence_terms]
        self.passage_bigrams = [bigrams(p.text) for p in index.passages]
        df = Counter(t for ts in self.passage_terms for t in ts)
        n = len(index.passages)
        self.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        # A word the archive has never seen is the rarest of all: asking about it counts.
        self.unseen_idf = math.log((n + 1) / 0.5)
        self._word_idf: dict[str, float] = {}

    def word_idf(self, word: str) -> float:
        """IDF of a plain lower-case word, by its stem."""
        found = self._word_idf.get(word)
        if found is None:
            found = self._word_idf[word] = self.idf.get(_stemmer.stemWord(word), self.unseen_idf)
        return found

    def question(self, query: np.ndarray, text: str, types: frozenset[str]) -> Question:
        q_terms = terms(text)
        weights = {t: self.idf.get(t, self.unseen_idf) for t in q_terms}
        return Question(query, q_terms, weights, types, asks(text), bigrams(text))

    def unknown_share(self, question: Question) -> float:
        unknown = frozenset(t for t in question.terms if t not in self.idf)
        return question.share(unknown)


def sentence_features(lexicon: Lexicon, question: Question, row: int) -> np.ndarray:
    """One row per sentence of passage `row`, columns as SENTENCE_FEATURES."""
    index = lexicon.index
    lo, hi = index.sentence_starts[row : row + 2]
    cosine = index.sentence_vectors[lo:hi] @ question.query
    n_terms = max(len(question.terms), 1)
    typed = float(bool(question.types))
    found_all = lexicon.sentence_terms[row]
    idf = [question.share(found) for found in found_all]
    last = len(found_all) - 1
    rows = [
        (
            cosine[i],
            cosine[i] - cosine.max(),
            len(question.terms & found) / n_terms,
            idf[i],
            float(bool(question.types & labels)),
            float(i == 0),
            typed,
            cosine[i - 1] if i > 0 else 0.0,
            cosine[i + 1] if i < last else 0.0,
            idf[i - 1] if i > 0 else 0.0,
            idf[i + 1] if i < last else 0.0,
            float(lexicon.sentence_digits[row][i]),
        )
        for i, (found, labels) in enumerate(
            zip(found_all, lexicon.sentence_labels[row], strict=True)
        )
    ]
    return np.asarray(rows, dtype=np.float32).reshape(-1, len(SENTENCE_FEATURES))


def passage_features(
    lexicon: Lexicon, question: Question, candidates: list[Candidate], best: list[np.ndarray]
) -> np.ndarray:
    """One row per candidate, columns as PASSAGE_FEATURES; `best` is each candidate's
    chosen sentence's feature row."""
    top = candidates[0].score if candidates else 0.0
    rows = []
    for rank, (c, s) in enumerate(zip(candidates, best, strict=True), start=1):
        labels = frozenset().union(*lexicon.sentence_labels[c.row])
        rows.append(
            (
                c.score,
                c.dense,
                c.bm25,
                math.log1p(c.bm25_raw),
                1.0 / rank,
                c.score - top,
                s[0],
                s[2],
                s[3],
                question.share(lexicon.passage_terms[c.row]),
                question.share(lexicon.title_terms[c.row]),
                s[4],
                float(bool(question.types & labels)),
            )
        )
    if not rows:
        return np.zeros((0, len(PASSAGE_FEATURES)), dtype=np.float32)
    table = np.asarray(rows, dtype=np.float32)
    column = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
    gaps = [table[:, column[of]] - table[:, column[of]].max() for of in _GAPS.values()]
    n_pairs = max(len(question.bigrams), 1)
    phrase = [len(question.bigrams & lexicon.passage_bigrams[c.row]) / n_pairs for c in candidates]
    n_terms = max(len(question.terms), 1)
    words = [len(question.terms & lexicon.passage_terms[c.row]) / n_terms for c in candidates]
    return np.column_stack([table, *gaps, phrase, words]).astype(np.float32)


def question_features(passage: np.ndarray | None) -> np.ndarray:
    """Columns as QUESTION_FEATURES, from the best passage's PASSAGE_FEATURES row: how well
    it answers at all."""
    if passage is None:
        return np.zeros(len(QUESTION_FEATURES), dtype=np.float32)
    return passage[[_COLUMN[name] for name in _QUESTION_COLUMNS]]


_COLUMN = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
_QUESTION_COLUMNS = ("dense", "sent_cos", "sent_overlap", "passage_overlap", "bigrams")
