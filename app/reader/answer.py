"""Passages -> answers: the sentence that answers, the shortest span in it, a score, no-answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from app.archive.embed import Embedder
from app.archive.facets import Filters
from app.archive.metadata import Meta
from app.archive.revisions import Correction
from app.archive.store import Index
from app.reader import collapse, span, span_features
from app.reader.evidence import (
    PASSAGE_FEATURES,
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    passage_features,
    question_features,
    sentence_features,
)
from app.reader.lexicon import Lexicon
from app.reader.linear import ReaderModels, load_models, sigmoid
from app.reader.neural_spans import NeuralSpan, NeuralSpans, monotone
from app.reader.question import Question, parse
from app.reader.retrieve import Candidate, Method, Retriever
from app.reader.scope import Dates, Scope, days_of, narrowing, newest_first, newest_marks
from app.reader.span import Spans

# A sentence with no candidate span (every word is the question's) has no span evidence.
NO_SPAN = -10.0


@dataclass(frozen=True)
class Citation:
    file: str
    paragraph: int
    start: int
    end: int
    title: str = ""
    meta: Meta = field(default_factory=Meta)


@dataclass(frozen=True)
class Answer:
    answer: str
    sentence: str
    score: float
    citation: Citation
    passage: str
    corrected: Correction | None = None  # a correction changed this paragraph: its words quoted
    # The same paragraph elsewhere (near copies, exact copies of the file), not answered again.
    also_in: tuple[collapse.AlsoIn, ...] = ()
    # The latest published among answers from differently dated articles.
    newest: bool = False
    share: float = 0.0  # the passage model's share for it, before spans moved the order


@dataclass(frozen=True)
class Result:
    question: str
    no_answer: bool
    answers: list[Answer]
    scope: Scope | None = None  # how the question's date words were read, if they were


@dataclass(frozen=True)
class Tuning:
    """Knobs of the answer stage; the learned weights live in app/reader/reader_weights.json."""

    # How many passages the models weigh before the top_k are kept.
    rerank_depth: int = 30
    # How many of the best-weighed passages have their spans weighed against each other before
    # the final order (dev, held-out articles: 3 does as well as 5 or 8 for the first answer,
    # and the 3 shown by default need their spans anyway).
    span_depth: int = 3


@dataclass(frozen=True)
class Reading:
    """Everything weighed for one question, before answers are cut from it."""

    question: Question
    query: np.ndarray
    candidates: list[Candidate]
    sentences: list[int]  # chosen sentence per candidate
    passage_logits: np.ndarray
    answerable: float
    spans: dict[int, Spans | NeuralSpan]  # by candidate, for those whose spans were weighed
    learned: np.ndarray  # the passage model's logits, before the leaders' spans moved them


class Reader:
    """Answers questions from one loaded index; the API, CLI, chat and eval all call ask()."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        retriever: Retriever,
        tuning: Tuning | None = None,
        models: ReaderModels | None = None,
        lexicon: Lexicon | None = None,
        corrections: dict[str, dict[int, Correction]] | None = None,
        span_reader: NeuralSpans | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.retriever = retriever
        self.tuning = tuning or Tuning()
        self.models = check_features(models or load_models())
        self.lexicon = lexicon or Lexicon(index)
        self.corrections = corrections or {}
        self.span_reader = span_reader  # None: the trees pick the span

    def ask(
        self,
        question: str,
        *,
        top_k: int = 3,
        method: Method = "hybrid",
        filters: Filters | None = None,
        dates: Dates = "read",
    ) -> Result:
        """`filters` narrow the articles searched; `dates="any"` leaves the question's date
        words as words. An archive with no dated article reads none."""
        scope, allowed = narrowing(self.retriever, question, filters or Filters(), dates)
        reading = self.read(question, method=method, allowed=allowed)
        ranked = [int(i) for i in np.argsort(-reading.passage_logits, kind="stable")]
        if scope is not None and scope.prefer == "newest":
            confidence = reading.answerable * softmax(reading.passage_logits)
            ranked = newest_first(confidence, days_of(self.index, reading.candidates))
        rows = [c.row for c in reading.candidates]
        picks = collapse.distinct(self.index, ranked, rows, top_k, self._holds(reading))
        order = [p.lead for p in picks]
        spans = reading.spans | self._spans(reading, [i for i in order if i not in reading.spans])
        answers = [self._answer(reading, p, spans[p.lead], n == 0) for n, p in enumerate(picks)]
        if self.span_reader is not None:
            scores = monotone([a.score for a in answers])
            answers = [replace(a, score=v) for a, v in zip(answers, scores, strict=True)]
        marks = newest_marks(days_of(self.index, [reading.candidates[i] for i in order]))
        answers = [replace(a, newest=True) if m else a for a, m in zip(answers, marks, strict=True)]
        # The answerable model refuses where the archive lacks the story (it learned from questions
        # asked without their article); the span reader's score where the fact is missing.
        no_answer = not answers or reading.answerable < self.models.answerable_threshold
        if self.span_reader is not None:
            no_answer = no_answer or answers[0].score < self.span_reader.calibration.threshold
        return Result(question, no_answer, answers, scope)

    def read(
        self, question: str, *, method: Method = "hybrid", allowed: np.ndarray | None = None
    ) -> Reading:
        """Retrieve (among the `allowed` chunk rows, if given), pick each passage's best
        sentence, weigh passages and answerability, then let the leading passages' best spans
        settle their order."""
        q = parse(question)
        query = self.embedder.encode([question])[0]
        k = self.tuning.rerank_depth
        candidates = self.retriever.search(q, query, k=k, method=method, allowed=allowed)
        per_sentence = sentence_features(self.lexicon, q, query, [c.row for c in candidates])
        if method == "hybrid":
            scores = _split(self.models.sentence.logits, per_sentence)
        else:
            # Baselines: the sentence by cosine alone, passages in retrieval order.
            scores = [f[:, 0] for f in per_sentence]
        chosen = [int(np.argmax(s)) for s in scores]
        best = [f[i] for f, i in zip(per_sentence, chosen, strict=True)]
        features = passage_features(self.lexicon, q, candidates, best)
        learned = self.models.passage.logits(features) if candidates else np.zeros(0)
        top = int(np.argmax(learned)) if candidates else None
        evidence = question_features(features[top] if top is not None else None, q)
        answerable = sigmoid(float(self.models.answerable.logits(evidence[None, :])[0]))
        reading = Reading(q, query, candidates, chosen, learned, answerable, {}, learned)
        if method != "hybrid":
            return replace(reading, passage_logits=-np.arange(len(candidates), dtype=float))
        leaders = [int(i) for i in np.argsort(-learned, kind="stable")[: self.tuning.span_depth]]
        spans = self._spans(reading, leaders)
        led = [spans[i] for i in leaders]
        if self.span_reader is not None:
            found = np.asarray([s.margin for s in led if isinstance(s, NeuralSpan)])
            weight = self.span_reader.calibration.passage_weight
        else:
            found = _best(
                self.models.cross_span.logits, [s.rows for s in led if isinstance(s, Spans)]
            )
            weight = self.models.cross_span_weight
        logits = fuse(learned, leaders, found, weight)
        return replace(reading, passage_logits=logits, spans=spans)

    def _spans(self, reading: Reading, which: list[int]) -> dict[int, Spans | NeuralSpan]:
        """The candidate spans of each listed candidate's chosen sentence, weighed by the span
        model in one call; or, with the span reader, its pick in each one's window."""
        if self.span_reader is not None:
            passages = [self.index.passages[reading.candidates[i].row] for i in which]
            chosen = [reading.sentences[i] for i in which]
            picks = self.span_reader.spans(reading.question.text, passages, chosen)
            return dict(zip(which, picks, strict=True))
        found = []
        for i in which:
            passage = self.index.passages[reading.candidates[i].row]
            sentence = passage.sentences[reading.sentences[i]]
            options = span.options(passage, sentence, reading.question.words)
            rows = span_features.features(
                passage, sentence, options, reading.question, self.lexicon.word_idf
            )
            texts = [passage.text[a - passage.start : b - passage.start] for a, b, _ in options]
            found.append((i, sentence, options, texts, rows))
        logits = _split(self.models.span.logits, [rows for *_, rows in found])
        return {
            i: Spans(sentence, options, texts, rows, weighed)
            for (i, sentence, options, texts, rows), weighed in zip(found, logits, strict=True)
        }

    def _holds(self, reading: Reading) -> Callable[[int, int], bool]:
        """Whether candidate i's passage has candidate j's chosen sentence, word for word."""

        def sentence(j: int) -> str:
            p = self.index.passages[reading.candidates[j].row]
            start, end = p.sentences[reading.sentences[j]]
            return p.text[start - p.start : end - p.start]

        return lambda i, j: sentence(j) in self.index.passages[reading.candidates[i].row].text

    def _answer(
        self, reading: Reading, pick: collapse.Pick, found: Spans | NeuralSpan, first: bool
    ) -> Answer:
        row = reading.candidates[pick.lead].row
        passage = self.index.passages[row]
        (s_start, s_end), cut = found.sentence, found.cut()
        text, base = passage.text, passage.start
        # Copies of one passage are one passage, so their shares add up. The trees' score is
        # P(answerable) x P(this passage | it is); the span reader's is calibrated P(right).
        share = float(softmax(reading.passage_logits)[list(pick.members)].sum())
        if isinstance(found, NeuralSpan) and self.span_reader is not None:
            confidence = self.span_reader.confidence(reading.answerable, share, found, first)
        else:
            confidence = reading.answerable * share
        article = self.index.files[passage.file]
        return Answer(
            answer=text[cut[0] - base : cut[1] - base],
            sentence=text[s_start - base : s_end - base],
            score=round(confidence, 4),
            citation=Citation(passage.file, passage.paragraph, *cut, article.title, article.meta),
            passage=text,
            corrected=self.corrections.get(passage.file, {}).get(passage.paragraph),
            also_in=collapse.also_in(self.index, row),
            share=round(float(softmax(reading.learned)[list(pick.members)].sum()), 4),
        )


def check_features(models: ReaderModels) -> ReaderModels:
    """The models, if each was trained on the columns the code builds, by name and in order."""
    expected = {
        "passage": PASSAGE_FEATURES,
        "sentence": SENTENCE_FEATURES,
        "answerable": QUESTION_FEATURES,
        "span": span_features.SPAN_FEATURES,
        "cross_span": span_features.SPAN_FEATURES,
    }
    for name, features in expected.items():
        if getattr(models, name).features != features:
            raise ValueError(
                f"The reader's {name} model was trained on other features than the code "
                "builds; retrain it (train/train_reader.py)."
            )
    return models


def fuse(logits: np.ndarray, leaders: list[int], found: np.ndarray, weight: float) -> np.ndarray:
    """The passage model's logits with each leader's best cross-span logit added, weighted.
    The others get the leaders' lowest, so none can overtake a leader: each leader has at
    least their logit and at least that span score."""
    fused = logits + weight * (found.min() if len(found) else 0.0)
    fused[leaders] = logits[leaders] + weight * found
    return fused


def _best(score: Callable[[np.ndarray], np.ndarray], tables: list[np.ndarray]) -> np.ndarray:
    """The highest `score` among each table's rows; NO_SPAN for a table without rows."""
    return np.asarray([s.max() if len(s) else NO_SPAN for s in _split(score, tables)])


def softmax(logits: np.ndarray) -> np.ndarray:
    """The passage model ranks a question's candidates against each other, so its scores
    become one distribution over them (dev, held-out articles, the cross-span step included:
    the top passage's share tracks how often it is the gold one, 0.58 against 0.54 in the least
    sure fifth, 0.91 against 0.89 in the next, 0.98-1.00 above)."""
    if not len(logits):
        return logits
    z = np.exp(logits - logits.max())
    return z / z.sum()


def _split(score: Callable[[np.ndarray], np.ndarray], tables: list[np.ndarray]) -> list[np.ndarray]:
    """`score` of every row of every table, in one call, split back per table."""
    if not sum(len(t) for t in tables):
        return [np.zeros(0) for _ in tables]
    return np.split(score(np.vstack(tables)), np.cumsum([len(t) for t in tables])[:-1])
