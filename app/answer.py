"""Passages -> answers: the sentence that answers, the shortest span in it, a score, no-answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from app import span
from app.embed import Embedder
from app.evidence import (
    STOPWORDS,
    Lexicon,
    Question,
    best_rows,
    passage_features,
    question_features,
    sentence_features,
)
from app.linear import ReaderModels, load_models, sigmoid
from app.retrieve import Candidate, Method, Retriever
from app.store import Index, Passage

_TERM = re.compile(r"\w+", re.UNICODE)

# Answer types by how the question asks, as spaCy's OntoNotes entity labels.
_TYPE_RULES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), frozenset(labels.split()))
    for pattern, labels in (
        (r"\b(what|which) (percentage|percent|share|proportion)\b", "PERCENT"),
        (r"\bhow much\b.*\b(money|cost|pay|paid|worth|spend|spent|price|budget|fund)", "MONEY"),
        (r"\bhow much\b", "MONEY QUANTITY CARDINAL PERCENT"),
        (r"\bhow (many|large|big|tall|high|far|old)\b", "CARDINAL QUANTITY DATE"),
        (r"\bhow long\b", "DATE TIME QUANTITY CARDINAL"),
        (
            r"\b(when|what year|which year|what date|what century|what decade|what day)\b",
            "DATE TIME",
        ),
        (r"\b(what|which) (country|city|state|nation|region|province)\b", "GPE LOC"),
        (r"\bwhere\b", "GPE LOC FAC ORG"),
        (r"\b(who|whom|whose)\b", "PERSON ORG NORP"),
        (r"\b(what|which) (company|organization|organisation|agency|team|group|outlet)\b", "ORG"),
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
    """Knobs of the answer stage; the learned weights live in app/reader_weights.json."""

    # How many passages the models weigh before the top_k are kept.
    rerank_depth: int = 30


@dataclass(frozen=True)
class Reading:
    """Everything weighed for one question, before answers are cut from it."""

    question: Question
    candidates: list[Candidate]
    sentences: list[int]  # chosen sentence per candidate
    passage_logits: np.ndarray
    answerable: float


def answer_types(question: str) -> frozenset[str]:
    for pattern, labels in _TYPE_RULES:
        if pattern.search(question):
            return labels
    return frozenset()


class Reader:
    """Answers questions from one loaded index; the API, CLI, chat and eval all call ask()."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        retriever: Retriever,
        tuning: Tuning | None = None,
        models: ReaderModels | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.retriever = retriever
        self.tuning = tuning or Tuning()
        self.models = models or load_models()
        self.lexicon = Lexicon(index)

    def ask(self, question: str, *, top_k: int = 3, method: Method = "hybrid") -> Result:
        reading = self.read(question, method=method)
        order = np.argsort(-reading.passage_logits, kind="stable")[:top_k]
        answers = [self._answer(reading, int(i), q_terms=plain_terms(question)) for i in order]
        no_answer = not answers or reading.answerable < self.models.answerable_threshold
        return Result(question, no_answer, answers)

    def read(self, question: str, *, method: Method = "hybrid") -> Reading:
        """Retrieve, pick each passage's best sentence, weigh passages and answerability."""
        query = self.embedder.encode([question])[0]
        candidates = self.retriever.search(
            question, query, k=self.tuning.rerank_depth, method=method
        )
        q = self.lexicon.question(query, question, answer_types(question))
        per_sentence = sentence_features(self.lexicon, q, [c.row for c in candidates])
        if method == "hybrid":
            chosen = best_rows(per_sentence, self.models.sentence.logits)
        else:
            # Baselines: the sentence by cosine alone, passages in retrieval order.
            chosen = best_rows(per_sentence, lambda f: f[:, 0])
        best = [f[i] for f, i in zip(per_sentence, chosen, strict=True)]
        features = passage_features(self.lexicon, q, candidates, best)
        learned = self.models.passage.logits(features) if candidates else np.zeros(0)
        logits = learned if method == "hybrid" else -np.arange(len(candidates), dtype=float)
        top = int(np.argmax(learned)) if candidates else None
        evidence = question_features(features[top] if top is not None else None)
        answerable = sigmoid(float(self.models.answerable.logits(evidence[None, :])[0]))
        return Reading(q, candidates, chosen, logits, answerable)

    def _answer(self, reading: Reading, i: int, q_terms: set[str]) -> Answer:
        candidate = reading.candidates[i]
        passage = self.index.passages[candidate.row]
        s_start, s_end = passage.sentences[reading.sentences[i]]
        start, end = self._span(passage, (s_start, s_end), reading.question, q_terms)
        text = passage.text
        base = passage.start
        # How sure we are that this passage answers: P(answerable) x P(this passage | it is).
        confidence = reading.answerable * sigmoid(float(reading.passage_logits[i]))
        return Answer(
            answer=text[start - base : end - base],
            sentence=text[s_start - base : s_end - base],
            score=round(confidence, 4),
            citation=Citation(passage.file, passage.paragraph, start, end),
            passage=text,
        )

    def _span(
        self, passage: Passage, sentence: tuple[int, int], q: Question, q_terms: set[str]
    ) -> tuple[int, int]:
        """The best-weighed entity or noun phrase of the sentence; the sentence if none."""
        model = self.models.span
        if model is None:
            return best_span(passage, sentence, q_terms, q.types) or sentence
        options = span.options(passage, sentence, q_terms)
        if not options:
            return sentence
        rows = span.features(passage, sentence, options, q_terms, q.asks, q.types)
        texts = [passage.text[a - passage.start : b - passage.start] for a, b, _ in options]
        start, end, _ = options[span.choose(texts, model.logits(rows))]
        return start, end


def plain_terms(text: str) -> set[str]:
    """Unstemmed content words, for matching against the raw text of a sentence."""
    return {t for t in (m.group().lower() for m in _TERM.finditer(text)) if t not in STOPWORDS}


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
        if plain_terms(text[start - base : end - base]) <= q_terms:
            continue  # the question's own words are not its answer
        distance = min((abs(start - a) for a in anchors), default=0)
        options.append((distance, start, end))
    return min(options)[1:] if options else None
