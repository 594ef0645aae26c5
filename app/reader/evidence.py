"""What speaks for a passage, and for each of its sentences, answering a question.

The numbers here are the inputs of the reader's small linear models (app/reader/linear.py); the
names in PASSAGE_FEATURES, SENTENCE_FEATURES and QUESTION_FEATURES are the columns the trained
weights refer to, so renaming one means retraining (train/train_reader.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import Stemmer

from app.archive.store import Index
from app.reader.retrieve import Candidate
from app.reader.span import asks
from app.reader.termsets import TermSets, ranges

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
    "sent_unique",
    "sent_unique_gap",
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
    "prev_idf", "next_idf", "digits", "unique_idf", "log_words",
)  # fmt: skip
# unique_idf: the question's words this sentence has and no other sentence of its paragraph
# does. A word every sentence repeats (the subject) tells them apart no better than the title;
# the one only this sentence has does (dev, held-out articles: right sentence of the gold
# paragraph 0.853 -> 0.871).
# Nothing here may depend on the archive's size: the same model judges a two-article archive
# and a fifty-article one. Raw BM25 and IDF shares do (a word a tiny archive has never seen
# gets the highest IDF, so a fair question looked unanswerable there); plain shares of the
# question's own words and cosines do not.
# Nor on the other candidates: the passage model's logit is relative to them, so it is left out.
QUESTION_FEATURES = (
    "top_dense", "top_sent_cos", "top_overlap", "top_passage_overlap", "top_bigrams",
    "top_type_missing",
)  # fmt: skip

_T = TypeVar("_T")
_stemmer = Stemmer.Stemmer("english")


def stems(text: str) -> list[str]:
    """Stemmed content words in order: 'paid' meets 'pay', 'the' meets nothing."""
    # findall and map: the same words as a generator over match objects, at half the cost
    # (this runs over every sentence when an index is loaded).
    words = [w for w in map(str.lower, _TERM.findall(text)) if w not in STOPWORDS]
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
    """Per-index facts computed once: term IDF, and each sentence's and passage's terms,
    entity labels and digits as arrays, so a question is weighed against all candidates in
    one numpy pass (app/reader/termsets.py)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        sentence_terms: list[frozenset[str]] = []
        sentence_labels: list[frozenset[str]] = []
        passage_terms: list[frozenset[str]] = []
        title_terms: list[frozenset[str]] = []
        unique_terms: list[frozenset[str]] = []
        digits: list[bool] = []
        words: list[int] = []
        for p in index.passages:
            spans = [p.text[s - p.start : e - p.start] for s, e in p.sentences]
            found = [terms(s) for s in spans]
            sentence_terms += found
            seen = Counter(t for ts in found for t in ts)
            unique_terms += [frozenset(t for t in ts if seen[t] == 1) for ts in found]
            words += [len(_TERM.findall(s)) for s in spans]
            passage_terms.append(frozenset().union(*found))
            digits += [any(map(str.isdigit, s)) for s in spans]
            sentence_labels += [
                frozenset(lb for es, ee, lb in p.entities if es >= s and ee <= e)
                for s, e in p.sentences
            ]
            title_terms.append(terms(f"{p.title} {p.section}"))
        df = Counter(t for ts in passage_terms for t in ts)
        n = len(index.passages)
        self.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        # A word the archive has never seen is the rarest of all: asking about it counts.
        self.unseen_idf = math.log((n + 1) / 0.5)
        self.vocab = _ids(sentence_terms + title_terms)
        self.sentence_terms = TermSets.build([[self.vocab[t] for t in ts] for ts in sentence_terms])
        self.passage_terms = TermSets.build([[self.vocab[t] for t in ts] for ts in passage_terms])
        self.title_terms = TermSets.build([[self.vocab[t] for t in ts] for ts in title_terms])
        bigram_sets = [bigrams(p.text) for p in index.passages]
        self.bigram_vocab = _ids(bigram_sets)
        self.passage_bigrams = TermSets.build(
            [[self.bigram_vocab[b] for b in bs] for bs in bigram_sets]
        )
        self.labels = _ids(sentence_labels)
        self.sentence_labels = np.zeros((len(sentence_labels), len(self.labels)), dtype=bool)
        for row, found_labels in enumerate(sentence_labels):
            self.sentence_labels[row, [self.labels[lb] for lb in found_labels]] = True
        self.passage_labels = np.zeros((n, len(self.labels)), dtype=bool)
        for row in range(n):
            lo, hi = index.sentence_starts[row : row + 2]
            self.passage_labels[row] = self.sentence_labels[lo:hi].any(axis=0)
        self.sentence_digits = np.asarray(digits, dtype=bool)
        self.unique_terms = TermSets.build([[self.vocab[t] for t in ts] for ts in unique_terms])
        self.sentence_log_words = np.log1p(np.asarray(words, dtype=np.float64))
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

    def weighed(self, question: Question) -> _Weighed:
        """The question's terms as sorted ids with their weights, for TermSets.matched."""
        known = sorted((self.vocab[t], w) for t, w in question.weights.items() if t in self.vocab)
        pairs = sorted(self.bigram_vocab[b] for b in question.bigrams if b in self.bigram_vocab)
        return _Weighed(
            ids=np.asarray([i for i, _ in known], dtype=np.int64),
            weights=np.asarray([w for _, w in known], dtype=np.float64),
            total=sum(question.weights.values()),
            n_terms=max(len(question.terms), 1),
            bigrams=np.asarray(pairs, dtype=np.int64),
            n_bigrams=max(len(question.bigrams), 1),
            types=[self.labels[t] for t in question.types if t in self.labels],
        )


@dataclass(frozen=True)
class _Weighed:
    ids: np.ndarray
    weights: np.ndarray
    total: float  # the weight of all the question's terms, the archive's or not
    n_terms: int
    bigrams: np.ndarray
    n_bigrams: int
    types: list[int]  # label columns of the asked-for entity types

    def share(self, found: TermSets, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Question.share and the plain share of the question's terms, for each of `rows`."""
        sums, counts = found.matched(rows, self.ids, self.weights)
        weighted = sums / self.total if self.total else np.zeros(len(rows))
        return weighted, counts / self.n_terms


def _ids(sets: Sequence[Iterable[_T]]) -> dict[_T, int]:
    """An id per distinct member, in order of first appearance."""
    vocab: dict[_T, int] = {}
    for members in sets:
        for m in members:
            vocab.setdefault(m, len(vocab))
    return vocab


def sentence_features(
    lexicon: Lexicon, question: Question, rows: Sequence[int]
) -> list[np.ndarray]:
    """For each passage row, one row per sentence, columns as SENTENCE_FEATURES."""
    if not len(rows):
        return []
    index = lexicon.index
    passages = np.asarray(rows, dtype=np.int64)
    lo, hi = index.sentence_starts[passages], index.sentence_starts[passages + 1]
    sizes = hi - lo
    ends = np.cumsum(sizes)
    sentences = ranges(lo, hi)
    first = np.zeros(len(sentences), dtype=bool)
    last = np.zeros(len(sentences), dtype=bool)
    first[(ends - sizes)[sizes > 0]] = True
    last[(ends - 1)[sizes > 0]] = True
    cosine = index.sentence_vectors[sentences] @ question.query
    if len(sentences):
        best = np.maximum.reduceat(cosine, (ends - sizes)[sizes > 0])
        gap = cosine - np.repeat(best, sizes[sizes > 0])
    else:
        gap = cosine
    q = lexicon.weighed(question)
    idf, overlap = q.share(lexicon.sentence_terms, sentences)
    table = np.column_stack(
        [
            cosine,
            gap,
            overlap,
            idf,
            lexicon.sentence_labels[sentences][:, q.types].any(axis=1),
            first,
            np.full(len(sentences), float(bool(question.types))),
            np.where(first, 0.0, np.roll(cosine, 1)),
            np.where(last, 0.0, np.roll(cosine, -1)),
            np.where(first, 0.0, np.roll(idf, 1)),
            np.where(last, 0.0, np.roll(idf, -1)),
            lexicon.sentence_digits[sentences],
            q.share(lexicon.unique_terms, sentences)[0],
            lexicon.sentence_log_words[sentences],
        ]
    ).astype(np.float32)
    return np.split(table, ends[:-1])


def passage_features(
    lexicon: Lexicon, question: Question, candidates: list[Candidate], best: list[np.ndarray]
) -> np.ndarray:
    """One row per candidate, columns as PASSAGE_FEATURES; `best` is each candidate's
    chosen sentence's feature row."""
    if not candidates:
        return np.zeros((0, len(PASSAGE_FEATURES)), dtype=np.float32)
    rows = np.fromiter((c.row for c in candidates), dtype=np.int64, count=len(candidates))
    score, dense, bm25, raw = np.asarray(
        [(c.score, c.dense, c.bm25, c.bm25_raw) for c in candidates], dtype=np.float64
    ).T
    s = np.vstack(best)
    q = lexicon.weighed(question)
    passage_idf, passage_overlap = q.share(lexicon.passage_terms, rows)
    title_idf, _ = q.share(lexicon.title_terms, rows)
    phrases, _ = lexicon.passage_bigrams.matched(rows, q.bigrams, np.ones(len(q.bigrams)))
    table = np.column_stack(
        [
            score,
            dense,
            bm25,
            np.log1p(raw),
            1.0 / np.arange(1, len(candidates) + 1),
            score - score[0],
            s[:, 0],
            s[:, 2],
            s[:, 3],
            passage_idf,
            title_idf,
            s[:, 4],
            lexicon.passage_labels[rows][:, q.types].any(axis=1),
        ]
    ).astype(np.float32)
    gaps = [table[:, _COLUMN[of]] - table[:, _COLUMN[of]].max() for of in _GAPS.values()]
    unique = s[:, SENTENCE_FEATURES.index("unique_idf")]
    return np.column_stack(
        [table, *gaps, phrases / q.n_bigrams, passage_overlap, unique, unique - unique.max()]
    ).astype(np.float32)


def question_features(passage: np.ndarray | None, question: Question) -> np.ndarray:
    """Columns as QUESTION_FEATURES, from the best passage's PASSAGE_FEATURES row: how well
    it answers at all."""
    if passage is None:
        return np.zeros(len(QUESTION_FEATURES), dtype=np.float32)
    # A "who" question whose best sentence names no person or organisation is likely asked of
    # the wrong archive, however well its other words match.
    untyped = float(bool(question.types) and not passage[_COLUMN["type_in_sentence"]])
    return np.append(passage[[_COLUMN[name] for name in _QUESTION_COLUMNS]], untyped)


_COLUMN = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
_QUESTION_COLUMNS = ("dense", "sent_cos", "sent_overlap", "passage_overlap", "bigrams")
