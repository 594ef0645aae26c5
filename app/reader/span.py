"""The short answer inside a sentence: entities and noun phrases found at index time and clause
pieces cut at query time, weighed by gradient-boosted trees (what the question asks for x what
the span is, where it sits among the question's words)."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import Stemmer

from app.archive.store import Passage
from app.metrics import normalize_answer

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
_FOCUS = re.compile(r"\b(?:what|which)\s+(\w+)", re.IGNORECASE)
_YEAR = re.compile(r"\b(1\d{3}|20\d{2})\b")
WINDOW = 5  # words each side counted as the span's neighbourhood
FAR = 50  # words: "no question word on this side"


@dataclass(frozen=True)
class Asked:
    """What the span model needs of a question: its words, plain and stemmed, with weights."""

    text: str
    words: frozenset[str]  # plain lower-case content words
    stems: frozenset[str]
    types: frozenset[str]
    idf: Callable[[str], float]  # of a plain lower-case word

    @cached_property
    def ask(self) -> str:
        return asks(self.text)

    @cached_property
    def focus(self) -> str | None:
        """The noun a what/which question asks for: "which river" -> "river"."""
        found = _FOCUS.search(self.text)
        return found.group(1).lower() if found else None


Candidate = tuple[int, int, str]

_stemmer = Stemmer.Stemmer("english")


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


@dataclass(frozen=True)
class _Words:
    """A sentence's words once: file offsets, lower case, stems, IDF."""

    starts: list[int]
    ends: list[int]
    lower: list[str]
    stems: list[str]
    idf: list[float]

    @classmethod
    def of(cls, passage: Passage, sentence: tuple[int, int], asked: Asked) -> _Words:
        s_start, s_end = sentence
        found = list(_WORD.finditer(passage.text[s_start - passage.start : s_end - passage.start]))
        lower = [m.group().lower() for m in found]
        return cls(
            [s_start + m.start() for m in found],
            [s_start + m.end() for m in found],
            lower,
            _stemmer.stemWords(lower),
            [asked.idf(w) for w in lower],
        )


def features(
    passage: Passage, sentence: tuple[int, int], spans: list[Candidate], asked: Asked
) -> np.ndarray:
    """One row per candidate span, columns as SPAN_FEATURES. Runs for every answer shown, so
    what each span needs of its sentence is counted once, as prefix sums and sorted positions."""
    words = _Words.of(passage, sentence, asked)
    q_words = asked.words
    is_q = [w in q_words for w in words.lower]
    before_q = np.concatenate([[0], np.cumsum(is_q)])  # question words before word k
    anchors = [a for a, hit in zip(words.starts, is_q, strict=True) if hit]
    hits = [i for i, stem in enumerate(words.stems) if stem in asked.stems]
    q_idf = {w: asked.idf(w) for w in q_words}
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
    cross = len(BASE_FEATURES) + ASK_NAMES.index(asked.ask) * len(LABELS)
    context = len(BASE_FEATURES) + len(ASK_NAMES) * len(LABELS)
    focus, ask_index, base = asked.focus, ASK_NAMES.index(asked.ask), passage.start
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
        rows[i, : len(BASE_FEATURES)] = (
            float(label in asked.types),
            inside / max(len(inner), 1),
            float(bool(inner) and inside == len(inner)),
            math.log1p(distance),
            math.log1p(len(inner)),
            float(bool(anchors) and anchors[0] < start),
            float(start == sentence[0]),
            float(passage.text[max(start - base - 1, 0) : start - base] == "("),
            float(bool(left) and left[-1] in q_words),
            float(bool(right) and right[0] in q_words),
            float(any(ch.isdigit() for w in inner for ch in w)),
            _capitalised(text),
            float(passage.text[end - base : sentence[1] - base].strip(' .!?"\u201d') == ""),
        )
        rows[i, cross + LABELS.index(label)] = 1.0
        near_left = int(before_q[first] - before_q[max(first - WINDOW, 0)])
        stop = min(last + 1, len(is_q))
        near_right = int(before_q[min(stop + WINDOW, len(is_q))] - before_q[stop])
        h_first, h_last = bisect.bisect_left(hits, first), bisect.bisect_right(hits, last)
        rows[i, context:] = (
            near_left,
            near_right,
            near_left + near_right,
            len(inner),
            (start - sentence[0]) / max(sentence[1] - sentence[0], 1),
            around[i] - 1,
            inside_it[i] - 1,
            len(spans),
            _GLUE.get(left[-1], 0) if left else -1,
            _GLUE.get(right[0], 0) if right else -1,
            float(bool(_YEAR.search(text))),
            float(
                focus is not None and (focus in right[:2] or focus in left[-2:] or focus in inner)
            ),
            LABELS.index(label),
            ask_index,
            len(q_words),
            sum(q_idf[w] for w in set(left) & q_words) / total,
            sum(q_idf[w] for w in set(right) & q_words) / total,
            sentence_idf,
            sum(words.idf[first + k] for k in _unique(inner)) / max(len(inner), 1),
            sum(q_idf[w] for w in set(inner) & q_words) / total,
            first - hits[h_first - 1] if h_first > 0 else FAR,
            hits[h_last] - last if h_last < len(hits) else FAR,
            h_first - bisect.bisect_left(hits, first - 6),
            bisect.bisect_right(hits, last + 6) - h_last,
            float(passage.text[max(start - base - 2, 0) : start - base].strip().endswith(",")),
            len(hits) / max(len(asked.stems), 1),
        )
    return rows


def _unique(words: list[str]) -> list[int]:
    """Positions of each distinct word's first occurrence."""
    seen: dict[str, int] = {}
    for k, w in enumerate(words):
        seen.setdefault(w, k)
    return list(seen.values())


def _capitalised(text: str) -> float:
    words = _WORD.findall(text)
    return sum(w[0].isupper() for w in words) / max(len(words), 1)
