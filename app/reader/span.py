"""The short answer inside a sentence: entities and noun phrases found at index time and clause
pieces cut at query time, weighed by gradient-boosted trees (app/reader/span_features.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from app.archive.store import Passage
from app.metrics import normalize_answer
from app.reader.span_features import Candidate
from app.reader.words import WORD

# Entities and noun chunks hold a gold answer in only about two thirds of gold sentences; many
# of the rest are a clause or a description. Pieces of the sentence are cut at query time from
# its text alone, so no parse of the passage is needed. (Runs of spans joined by of/and/commas,
# and spans stripped of their question words, were tried too: on dev, trained on half the
# articles and measured on the other half, they cost EM and F1.)
_CLAUSE_END = re.compile(r"[,;:()\u201c\u201d\"]|\s[-\u2013\u2014]\s")
_LEADING = frozenset(
    "the a an of to in on at for by with and or as is was are were be its their".split()  # noqa: SIM905
)
MAX_CLAUSE_WORDS = 12
# How many of the best-weighed candidates vote on the span (dev, held-out articles: F1 +0.028,
# EM +0.005).
CONSENSUS_DEPTH = 10


def candidates(
    passage: Passage, sentence: tuple[int, int], q_words: set[str] | frozenset[str] = frozenset()
) -> list[Candidate]:
    """Entities and noun phrases inside the sentence (file offsets), entities first; none made
    only of the question's own words, which is never what was asked."""
    s_start, s_end = sentence
    base = passage.start
    seen: set[tuple[int, int]] = set()
    out = []
    spans = [*passage.entities, *((s, e, "PHRASE") for s, e in passage.phrases)]
    for start, end, label in spans:
        if start < s_start or end > s_end or (start, end) in seen:
            continue
        words = {w.lower() for w in WORD.findall(passage.text[start - base : end - base])}
        if words and not words <= q_words:
            seen.add((start, end))
            out.append((start, end, label))
    return out


def options(
    passage: Passage, sentence: tuple[int, int], q_words: set[str] | frozenset[str] = frozenset()
) -> list[Candidate]:
    """The stored spans (`candidates`) and what is derived from them and the sentence's text."""
    base = candidates(passage, sentence, q_words)
    derived = clauses(passage, sentence, q_words)
    seen = {(s, e) for s, e, _ in base}
    out = list(base)
    for start, end, label in derived:
        words = {
            w.lower()
            for w in WORD.findall(passage.text[start - passage.start : end - passage.start])
        }
        if (start, end) not in seen and words and not words <= q_words:
            seen.add((start, end))
            out.append((start, end, label))
    return out


def clauses(
    passage: Passage, sentence: tuple[int, int], q_words: set[str] | frozenset[str]
) -> list[Candidate]:
    """Pieces of the sentence between punctuation, and each piece's part after its last
    question word: where an answer that is a description or an action sits."""
    s_start, s_end = sentence
    text = passage.text[s_start - passage.start : s_end - passage.start].rstrip(".!?")
    bounds = [0, *(m.start() for m in _CLAUSE_END.finditer(text)), len(text)]
    out = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        words = list(WORD.finditer(text, lo, hi))
        if not words:
            continue
        out.append((s_start + words[0].start(), s_start + words[-1].end(), "CLAUSE"))
        last = max((i for i, m in enumerate(words) if m.group().lower() in q_words), default=None)
        rest = words[last + 1 :] if last is not None else []
        while rest and rest[0].group().lower() in _LEADING:
            rest = rest[1:]
        if rest and len(rest) <= MAX_CLAUSE_WORDS:
            out.append((s_start + rest[0].start(), s_start + rest[-1].end(), "TAIL"))
    return [
        c
        for c in out
        if len(WORD.findall(passage.text[c[0] - passage.start : c[1] - passage.start]))
        <= MAX_CLAUSE_WORDS * 2
    ]


def choose(texts: list[str], logits: np.ndarray, depth: int = CONSENSUS_DEPTH) -> int:
    """The candidate with the highest expected F1 against the model's top `depth` candidates,
    weighed by their softmax: where the model hesitates between nested spans, the span they
    share scores better than a single word (SQuAD's F1 rewards partial overlap)."""
    top = np.argsort(-logits, kind="stable")[:depth]
    weights = np.exp(logits[top] - logits[top].max())
    weights /= weights.sum()
    f1 = _pairwise_f1([normalize_answer(texts[i]).split() for i in top])
    return int(top[int(np.argmax(f1 @ weights))])


def _pairwise_f1(bags: list[list[str]]) -> np.ndarray:
    """SQuAD's token F1 between every pair of word bags, as one array operation (this runs for
    every answer shown, so it sits on /ask's hot path)."""
    vocabulary = {word: i for i, word in enumerate({w for bag in bags for w in bag})}
    counts = np.zeros((len(bags), max(len(vocabulary), 1)))
    for row, bag in enumerate(bags):
        for word in bag:
            counts[row, vocabulary[word]] += 1
    common = np.minimum(counts[:, None, :], counts[None, :, :]).sum(axis=2)
    sizes = counts.sum(axis=1)
    total = sizes[:, None] + sizes[None, :]
    return np.divide(2 * common, total, out=np.zeros_like(common), where=total > 0)


@dataclass(frozen=True)
class Spans:
    """The candidate short answers in one passage's chosen sentence, weighed by the span model."""

    sentence: tuple[int, int]
    options: list[Candidate]
    texts: list[str]
    rows: np.ndarray  # their SPAN_FEATURES
    logits: np.ndarray

    def cut(self) -> tuple[int, int]:
        """The short answer: the best-weighed entity, phrase or clause, the whole sentence if
        it has none. (Letting the second-best sentence compete with its best span's weight
        added was tried: on held-out dev articles it moved sentence_hit by nothing and F1 by
        +0.005.)"""
        if not self.options:
            return self.sentence
        start, end, _ = self.options[choose(self.texts, self.logits)]
        return start, end
