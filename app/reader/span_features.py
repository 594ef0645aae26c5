"""What the span model weighs of each candidate short answer: what the question asks for x
what the span is, where it sits among the question's words, how rare its words are.

SPAN_FEATURES are the columns the trained span models refer to; each row is filled by those
names, so a reorder cannot feed the models the wrong columns (retrain after any change:
train/train_reader.py).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.archive.store import Passage
from app.reader.question import ASK_NAMES, Question
from app.reader.words import WORD, stemmer

Candidate = tuple[int, int, str]

LABELS = (
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL", "PHRASE",
    "CLAUSE", "TAIL",
)  # fmt: skip
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
# Where the span sits among the question's words, as the sliding-window readers of early
# SQuAD work looked at it, and how rare its words are (dev, held-out articles: F1 +0.05).
CONTEXT_FEATURES = (
    "left_question_words",
    "right_question_words",
    "near_question_words",
    "words",
    "relative_position",
    "containers",
    "contained",
    "options",
    "previous_word",
    "next_word",
    "year",
    "focus_near",
    "label",
    "ask",
    "question_terms",
    "left_idf",
    "right_idf",
    "sentence_idf",
    "own_idf",
    "inside_idf",
    "left_gap",
    "right_gap",
    "left_stems",
    "right_stems",
    "after_comma",
    "sentence_stems",
)
SPAN_FEATURES = (
    *BASE_FEATURES,
    *(f"{a}x{label}" for a in ASK_NAMES for label in LABELS),
    *CONTEXT_FEATURES,
)
# The words that most often sit right before or after an answer ("born in", "called", "by").
_GLUE_WORDS = (
    "by in of as is was are were the called named from to at on with for and a an known became than"
)
_GLUE = {w: i + 1 for i, w in enumerate(_GLUE_WORDS.split())}
_YEAR = re.compile(r"\b(1\d{3}|20\d{2})\b")
WINDOW = 5  # words each side counted as the span's neighbourhood
FAR = 50  # words: "no question word on this side"


@dataclass(frozen=True)
class _Words:
    """A sentence's words once: file offsets, lower case, stems, IDF."""

    starts: list[int]
    ends: list[int]
    lower: list[str]
    stems: list[str]
    idf: list[float]

    @classmethod
    def of(cls, passage: Passage, sentence: tuple[int, int], idf: Callable[[str], float]) -> _Words:
        s_start, s_end = sentence
        found = list(WORD.finditer(passage.text[s_start - passage.start : s_end - passage.start]))
        lower = [m.group().lower() for m in found]
        return cls(
            [s_start + m.start() for m in found],
            [s_start + m.end() for m in found],
            lower,
            stemmer.stemWords(lower),
            [idf(w) for w in lower],
        )


_COLUMN = {name: i for i, name in enumerate(SPAN_FEATURES)}
_NAMED = frozenset((*BASE_FEATURES, *CONTEXT_FEATURES))


def _columns(named: dict[str, float]) -> list[int]:
    """Where each named value goes; every base and context feature must be named, once."""
    if named.keys() != _NAMED:
        missing, unknown = _NAMED - named.keys(), named.keys() - _NAMED
        raise ValueError(f"span features: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return [_COLUMN[name] for name in named]


def features(
    passage: Passage,
    sentence: tuple[int, int],
    spans: list[Candidate],
    question: Question,
    idf: Callable[[str], float],
) -> np.ndarray:
    """One row per candidate span, columns as SPAN_FEATURES; `idf` weighs a plain lower-case
    word. Runs for every answer shown, so what each span needs of its sentence is counted
    once, as prefix sums and sorted positions."""
    words = _Words.of(passage, sentence, idf)
    q_words = question.words
    is_q = [w in q_words for w in words.lower]
    before_q = np.concatenate([[0], np.cumsum(is_q)])  # question words before word k
    anchors = [a for a, hit in zip(words.starts, is_q, strict=True) if hit]
    hits = [i for i, stem in enumerate(words.stems) if stem in question.terms]
    q_idf = {w: idf(w) for w in q_words}
    total = sum(q_idf.values()) or 1.0
    in_sentence = set(words.lower)
    sentence_idf = sum(v for w, v in q_idf.items() if w in in_sentence) / total
    starts = np.asarray([a for a, _, _ in spans])
    ends = np.asarray([b for _, b, _ in spans])
    # Spans around each span (itself included), and spans inside it.
    around = ((starts[None, :] <= starts[:, None]) & (ends[None, :] >= ends[:, None])).sum(axis=1)
    inside_it = ((starts[:, None] <= starts[None, :]) & (ends[:, None] >= ends[None, :])).sum(
        axis=1
    )
    rows = np.zeros((len(spans), len(SPAN_FEATURES)), dtype=np.float32)
    focus, ask_index, base = question.focus, ASK_NAMES.index(question.ask), passage.start
    values: list[list[float]] = []
    crosses: list[int] = []
    for i, (start, end, label) in enumerate(spans):
        first = bisect.bisect_left(words.starts, start)
        last = max(bisect.bisect_right(words.ends, end) - 1, first)
        inner = words.lower[first : last + 1]
        inside = int(before_q[min(last + 1, len(is_q))] - before_q[min(first, len(is_q))])
        near = bisect.bisect_left(anchors, start)
        distance = min(
            (abs(start - anchors[k]) for k in (near - 1, near) if 0 <= k < len(anchors)),
            default=200,
        )
        left, right = words.lower[max(first - 8, 0) : first], words.lower[last + 1 : last + 9]
        text = passage.text[start - base : end - base]
        near_left = int(before_q[first] - before_q[max(first - WINDOW, 0)])
        stop = min(last + 1, len(is_q))
        near_right = int(before_q[min(stop + WINDOW, len(is_q))] - before_q[stop])
        h_first, h_last = bisect.bisect_left(hits, first), bisect.bisect_right(hits, last)
        named = {
            "typed_match": float(label in question.types),
            "question_words": inside / max(len(inner), 1),
            "all_question_words": float(bool(inner) and inside == len(inner)),
            "log_distance": math.log1p(distance),
            "log_length": math.log1p(len(inner)),
            "after_anchor": float(bool(anchors) and anchors[0] < start),
            "sentence_start": float(start == sentence[0]),
            "in_parentheses": float(passage.text[max(start - base - 1, 0) : start - base] == "("),
            "after_question_word": float(bool(left) and left[-1] in q_words),
            "before_question_word": float(bool(right) and right[0] in q_words),
            "digits": float(any(ch.isdigit() for w in inner for ch in w)),
            "capitalised": _capitalised(text),
            "sentence_end": float(
                passage.text[end - base : sentence[1] - base].strip(' .!?"\u201d') == ""
            ),
            "left_question_words": near_left,
            "right_question_words": near_right,
            "near_question_words": near_left + near_right,
            "words": len(inner),
            "relative_position": (start - sentence[0]) / max(sentence[1] - sentence[0], 1),
            "containers": around[i] - 1,
            "contained": inside_it[i] - 1,
            "options": len(spans),
            "previous_word": _GLUE.get(left[-1], 0) if left else -1,
            "next_word": _GLUE.get(right[0], 0) if right else -1,
            "year": float(bool(_YEAR.search(text))),
            "focus_near": float(
                focus is not None and (focus in right[:2] or focus in left[-2:] or focus in inner)
            ),
            "label": LABELS.index(label),
            "ask": ask_index,
            "question_terms": len(q_words),
            "left_idf": sum(q_idf[w] for w in set(left) & q_words) / total,
            "right_idf": sum(q_idf[w] for w in set(right) & q_words) / total,
            "sentence_idf": sentence_idf,
            "own_idf": sum(words.idf[first + k] for k in _unique(inner)) / max(len(inner), 1),
            "inside_idf": sum(q_idf[w] for w in set(inner) & q_words) / total,
            "left_gap": first - hits[h_first - 1] if h_first > 0 else FAR,
            "right_gap": hits[h_last] - last if h_last < len(hits) else FAR,
            "left_stems": h_first - bisect.bisect_left(hits, first - 6),
            "right_stems": bisect.bisect_right(hits, last + 6) - h_last,
            "after_comma": float(
                passage.text[max(start - base - 2, 0) : start - base].strip().endswith(",")
            ),
            "sentence_stems": len(hits) / max(len(question.terms), 1),
        }
        values.append(list(named.values()))
        crosses.append(_COLUMN[f"{question.ask}x{label}"])
    if values:  # one assignment for the table: a row at a time cost a third of the time
        rows[:, _columns(named)] = values
        rows[np.arange(len(spans)), crosses] = 1.0
    return rows


def _unique(words: list[str]) -> list[int]:
    """Positions of each distinct word's first occurrence."""
    seen: dict[str, int] = {}
    for k, w in enumerate(words):
        seen.setdefault(w, k)
    return list(seen.values())


def _capitalised(text: str) -> float:
    words = WORD.findall(text)
    return sum(w[0].isupper() for w in words) / max(len(words), 1)
