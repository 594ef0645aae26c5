"""Per-index facts the reader weighs questions against, computed once when an index loads.

Term IDF, and each sentence's and passage's terms, entity labels and digits as arrays, so a
question is weighed against all its candidates in one numpy pass (app/reader/termsets.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from app.archive.store import Index
from app.reader.question import Question
from app.reader.termsets import TermSets
from app.reader.words import WORD, bigrams, stemmer, terms

_T = TypeVar("_T")
# What a Lexicon holds besides its index, for saving it as plain arrays and JSON.
_TERM_SETS = ("sentence_terms", "passage_terms", "title_terms", "unique_terms", "passage_bigrams")
_ARRAYS = ("sentence_labels", "passage_labels", "sentence_digits", "sentence_log_words")


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
            words += [len(WORD.findall(s)) for s in spans]
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

    def saved(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything but the index, as arrays and a JSON-able dict (nothing that runs code)."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        for name in _TERM_SETS:
            sets: TermSets = getattr(self, name)
            arrays[f"{name}.starts"], arrays[f"{name}.ids"] = sets.starts, sets.ids
        meta = {
            "idf": self.idf,
            "unseen_idf": self.unseen_idf,
            "vocab": list(self.vocab),  # in id order: ids are first appearances
            "bigram_vocab": list(self.bigram_vocab),
            "labels": list(self.labels),
        }
        return arrays, meta

    @classmethod
    def restored(cls, index: Index, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Lexicon:
        """The Lexicon `saved` gave these of, for `index`."""
        lexicon = cls.__new__(cls)
        lexicon.index = index
        for name in _ARRAYS:
            setattr(lexicon, name, arrays[name])
        for name in _TERM_SETS:
            setattr(lexicon, name, TermSets(arrays[f"{name}.starts"], arrays[f"{name}.ids"]))
        lexicon.idf = {str(t): float(v) for t, v in meta["idf"].items()}
        lexicon.unseen_idf = float(meta["unseen_idf"])
        lexicon.vocab = {str(t): i for i, t in enumerate(meta["vocab"])}
        lexicon.bigram_vocab = {
            (str(a), str(b)): i for i, (a, b) in enumerate(meta["bigram_vocab"])
        }
        lexicon.labels = {str(t): i for i, t in enumerate(meta["labels"])}
        lexicon._word_idf = {}
        return lexicon

    def word_idf(self, word: str) -> float:
        """IDF of a plain lower-case word, by its stem."""
        found = self._word_idf.get(word)
        if found is None:
            found = self._word_idf[word] = self.idf.get(stemmer.stemWord(word), self.unseen_idf)
        return found

    def weights(self, question: Question) -> dict[str, float]:
        """Each of the question's terms by its IDF in this archive."""
        return {t: self.idf.get(t, self.unseen_idf) for t in question.terms}

    def weighed(self, question: Question) -> _Weighed:
        """The question's terms as sorted ids with their weights, for TermSets.matched."""
        weights = self.weights(question)
        known = sorted((self.vocab[t], w) for t, w in weights.items() if t in self.vocab)
        pairs = sorted(self.bigram_vocab[b] for b in question.bigrams if b in self.bigram_vocab)
        return _Weighed(
            ids=np.asarray([i for i, _ in known], dtype=np.int64),
            weights=np.asarray([w for _, w in known], dtype=np.float64),
            total=sum(weights.values()),
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
