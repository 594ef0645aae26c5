"""The short answer inside a sentence: entities and noun phrases found at index time, weighed
by a small linear model (what the question asks for x what the span is, where it sits)."""

from __future__ import annotations

import math
import re

import numpy as np

from app.store import Passage

_WORD = re.compile(r"\w+", re.UNICODE)

LABELS = (
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL", "PHRASE",
)  # fmt: skip
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
        rows[i, :8] = (
            float(label in types),
            inside / max(len(words), 1),
            float(bool(words) and inside == len(words)),
            math.log1p(distance),
            math.log1p(len(words)),
            float(any(a < start for a in anchors)),
            float(start == s_start),
            float(before == "("),
        )
        rows[i, cross + LABELS.index(label)] = 1.0
    return rows
