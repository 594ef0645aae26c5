"""Passages -> answers: the sentence that answers, the shortest span in it, a score, no-answer."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from app.embed import Embedder
from app.retrieve import Candidate, Method, Retriever
from app.store import Index, Passage

_TERM = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a an and are as at be by did do does for from had has have how in is it its of on or
    that the their this to was were what when where which who whom whose why with would
    could should can will much many""".split()
)

# Answer types by how the question asks, as spaCy's OntoNotes entity labels.
_TYPE_RULES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), frozenset(labels.split()))
    for pattern, labels in (
        (r"\b(what|which) (percentage|percent|share|proportion)\b", "PERCENT"),
        (r"\bhow much\b.*\b(money|cost|pay|paid|worth|spend|spent|price|budget|fund)", "MONEY"),
        (r"\bhow much\b", "MONEY QUANTITY CARDINAL PERCENT"),
        (r"\bhow (many|large|big|tall|high|far|old)\b", "CARDINAL QUANTITY DATE"),
        (r"\bhow long\b", "DATE TIME QUANTITY CARDINAL"),
        (r"\b(when|what year|which year|what date|what century|what decade|what day)\b", "DATE TIME"),
        (r"\b(what|which) (country|city|state|nation|region|province)\b", "GPE LOC"),
        (r"\bwhere\b", "GPE LOC FAC ORG"),
        (r"\b(who|whom|whose)\b", "PERSON ORG NORP"),
        (r"\b(what|which) (company|organization|organisation|agency|team|group|outlet)\b",
         "ORG"),
    )
)


@dataclass(frozen=True)
class Citation:
    file: str
    paragraph: int
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    answer: str
    sentence: str
    score: float
    citation: Citation
    passage: str


@dataclass(frozen=True)
class Result:
    question: str
    no_answer: bool
    answers: list[Answer]


@dataclass(frozen=True)
class Tuning:
    """Weights of the answer stage; chosen on SQuAD dev (see bench/ and README)."""

    sentence_weight: float = 0.5
    overlap_weight: float = 0.3
    rerank_depth: int = 10
    no_answer_below: float = 0.35


def terms(text: str) -> set[str]:
    return {t for t in (m.group().lower() for m in _TERM.finditer(text)) if t not in STOPWORDS}


def answer_types(question: str) -> frozenset[str]:
    for pattern, labels in _TYPE_RULES:
        if pattern.search(question):
            return labels
    return frozenset()


class Reader:
    """Answers questions from one loaded index; the API, CLI, chat and eval all call ask()."""

    def __init__(
        self, index: Index, embedder: Embedder, retriever: Retriever, tuning: Tuning | None = None
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.retriever = retriever
        self.tuning = tuning or Tuning()

    def ask(self, question: str, *, top_k: int = 3, method: Method = "hybrid") -> Result:
        query = self.embedder.encode([question])[0]
        depth = max(top_k, self.tuning.rerank_depth)
        candidates = self.retriever.search(question, query, k=depth, method=method)
        q_terms = terms(question)
        scored = [self._read(c, query, q_terms, method) for c in candidates]
        scored.sort(key=lambda item: -item[0])
        types = answer_types(question)
        answers = [
            self._answer(candidates_row, sentence, score, q_terms, types)
            for score, candidates_row, sentence in scored[:top_k]
        ]
        no_answer = not answers or answers[0].score < self.tuning.no_answer_below
        return Result(question, no_answer, answers)

    def _read(
        self, candidate: Candidate, query: np.ndarray, q_terms: set[str], method: Method
    ) -> tuple[float, int, int]:
        """(passage score, passage row, best sentence index) with sentence evidence folded in."""
        passage = self.index.passages[candidate.row]
        lo, hi = self.index.sentence_starts[candidate.row : candidate.row + 2]
        cosine = self.index.sentence_vectors[lo:hi] @ query
        overlap = np.array([_overlap(q_terms, passage, s, e) for s, e in passage.sentences])
        sentence_scores = cosine + self.tuning.overlap_weight * overlap
        best = int(np.argmax(sentence_scores))
        if method != "hybrid":
            # Baselines: rank as retrieved; pick the sentence by cosine alone.
            return candidate.score, candidate.row, int(np.argmax(cosine))
        score = candidate.score + self.tuning.sentence_weight * float(sentence_scores[best])
        return score, candidate.row, best

    def _answer(
        self, row: int, sentence: int, score: float, q_terms: set[str], types: frozenset[str]
    ) -> Answer:
        passage = self.index.passages[row]
        s_start, s_end = passage.sentences[sentence]
        start, end = best_span(passage, (s_start, s_end), q_terms, types) or (s_start, s_end)
        text = passage.text
        base = passage.start
        return Answer(
            answer=text[start - base : end - base],
            sentence=text[s_start - base : s_end - base],
            score=_confidence(score),
            citation=Citation(passage.file, passage.paragraph, start, end),
            passage=text,
        )


def _overlap(q_terms: set[str], passage: Passage, start: int, end: int) -> float:
    if not q_terms:
        return 0.0
    sentence = passage.text[start - passage.start : end - passage.start]
    return len(q_terms & terms(sentence)) / len(q_terms)


def best_span(
    passage: Passage, sentence: tuple[int, int], q_terms: set[str], types: frozenset[str]
) -> tuple[int, int] | None:
    """The entity of the asked-for type in the sentence, nearest the question's words."""
    if not types:
        return None
    s_start, s_end = sentence
    base = passage.start
    text = passage.text
    anchors = [
        s_start + m.start()
        for m in _TERM.finditer(text[s_start - base : s_end - base])
        if m.group().lower() in q_terms
    ]
    options = []
    for start, end, label in passage.entities:
        if start < s_start or end > s_end or label not in types:
            continue
        if terms(text[start - base : end - base]) <= q_terms:
            continue  # the question's own words are not its answer
        distance = min((abs(start - a) for a in anchors), default=0)
        options.append((distance, start, end))
    return min(options)[1:] if options else None


def _confidence(score: float) -> float:
    """Squash a raw passage score into 0..1."""
    return 1.0 / (1.0 + math.exp(-8.0 * (score - 0.5)))
