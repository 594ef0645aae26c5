"""The short answer inside a sentence: entities and noun phrases found at index time, weighed
by a small linear model (what the question asks for x what the span is, where it sits)."""

from __future__ import annotations

import math
import re

import numpy as np

from app.metrics import normalize_answer
from app.store import Passage

_WORD = re.compile(r"\w+", re.UNICODE)

LABELS = (
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL", "PHRASE",
    "CLAUSE", "TAIL",
)  # fmt: skip
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
# How the question asks, first match wins; the span's label is crossed with this.
ASKS = (
    ("how_many", re.compile(r"\bhow (many|much)\b", re.I)),
    ("how_long", re.compile(r"\bhow (long|old|far|large|big|tall|high)\b", re.I)),
    (
        "when",
        re.compile(r"\b(when|what year|which year|what date|what century|what decade)\b", re.I),
    ),
    ("who", re.compile(r"\b(who|whom|whose)\b", re.I)),
    ("where", re.compile(r"\bwhere\b", re.I)),
    ("why", re.compile(r"\bwhy\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
    ("which", re.compile(r"\bwhich\b", re.I)),
    ("what", re.compile(r"\bwhat\b", re.I)),
)
ASK_NAMES = (*(name for name, _ in ASKS), "other")
BASE_FEATURES = (
    "typed_match",
    "question_words",
    "all_question_words",
    "log_distance",
    "log_length",
    "after_anchor",
    "sentence_start",
    "in_parentheses",
    "after_question_word",
    "before_question_word",
    "digits",
    "capitalised",
    "sentence_end",
)
SPAN_FEATURES = (*BASE_FEATURES, *(f"{a}x{label}" for a in ASK_NAMES for label in LABELS))

Candidate = tuple[int, int, str]


def asks(question: str) -> str:
    return next((name for name, pattern in ASKS if pattern.search(question)), "other")


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
        words = {w.lower() for w in _WORD.findall(passage.text[start - base : end - base])}
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
            for w in _WORD.findall(passage.text[start - passage.start : end - passage.start])
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
        words = list(_WORD.finditer(text, lo, hi))
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
        if len(_WORD.findall(passage.text[c[0] - passage.start : c[1] - passage.start]))
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


def features(
    passage: Passage,
    sentence: tuple[int, int],
    spans: list[Candidate],
    q_words: set[str],
    ask: str,
    types: frozenset[str],
) -> np.ndarray:
    """One row per candidate span, columns as SPAN_FEATURES."""
    base = passage.start
    s_start, s_end = sentence
    anchors = [
        s_start + m.start()
        for m in _WORD.finditer(passage.text[s_start - base : s_end - base])
        if m.group().lower() in q_words
    ]
    rows = np.zeros((len(spans), len(SPAN_FEATURES)), dtype=np.float32)
    cross = len(BASE_FEATURES) + ASK_NAMES.index(ask) * len(LABELS)
    for i, (start, end, label) in enumerate(spans):
        words = [w.lower() for w in _WORD.findall(passage.text[start - base : end - base])]
        inside = sum(w in q_words for w in words)
        distance = min((abs(start - a) for a in anchors), default=200)
        before = passage.text[max(start - base - 1, 0) : start - base]
        rows[i, : len(BASE_FEATURES)] = (
            float(label in types),
            inside / max(len(words), 1),
            float(bool(words) and inside == len(words)),
            math.log1p(distance),
            math.log1p(len(words)),
            float(any(a < start for a in anchors)),
            float(start == s_start),
            float(before == "("),
            *_neighbours(passage, start, end, q_words),
            float(any(ch.isdigit() for ch in "".join(words))),
            _capitalised(passage.text[start - base : end - base]),
            float(passage.text[end - base : s_end - base].strip(' .!?"\u201d') == ""),
        )
        rows[i, cross + LABELS.index(label)] = 1.0
    return rows


def _neighbours(
    passage: Passage, start: int, end: int, q_words: set[str] | frozenset[str]
) -> tuple[float, float]:
    """Whether the words just before and just after the span are the question's: an answer
    usually sits right next to what the question restates."""
    before = _WORD.findall(passage.text[max(start - passage.start - 30, 0) : start - passage.start])
    after = _WORD.findall(passage.text[end - passage.start : end - passage.start + 30])
    return (
        float(bool(before) and before[-1].lower() in q_words),
        float(bool(after) and after[0].lower() in q_words),
    )


def _capitalised(text: str) -> float:
    words = _WORD.findall(text)
    return sum(w[0].isupper() for w in words) / max(len(words), 1)
