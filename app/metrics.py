"""Answer-quality metrics: pure functions over one question's outcome, and their summary."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from app import trust

Source = tuple[str, int]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
CUTOFF = 10
RIGHT_F1 = 0.5


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    guess = normalize_answer(prediction)
    return float(any(guess == normalize_answer(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    guess, truth = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(guess) & Counter(truth)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(guess), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, golds: Iterable[str]) -> float:
    """Token F1 against the closest gold answer, as SQuAD scores it."""
    return max((_f1(prediction, g) for g in golds), default=0.0)


def sentence_hit(sentence: str, golds: Iterable[str]) -> float:
    """Does a gold answer occur, word for word after normalising, inside the sentence?"""
    padded = f" {normalize_answer(sentence)} "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in padded for g in golds))


def gold_rank(citations: Sequence[Source], gold: Iterable[Source]) -> int | None:
    """1-based rank of the first citation of a gold paragraph, None if none is cited."""
    wanted = set(gold)
    return next((i for i, c in enumerate(citations, start=1) if c in wanted), None)


def recall_at(rank: int | None, k: int) -> float:
    return float(rank is not None and rank <= k)


def reciprocal_rank(rank: int | None, cutoff: int = CUTOFF) -> float:
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


@dataclass(frozen=True)
class Question:
    """A question of an evaluation set, with its gold answers and paragraphs."""

    id: str
    question: str
    answers: tuple[str, ...]
    sources: tuple[Source, ...]
    answerable: bool
    kind: str = ""


@dataclass(frozen=True)
class Outcome:
    """How one question went."""

    answerable: bool
    no_answer: bool
    rank: int | None = None
    em: float = 0.0
    f1: float = 0.0
    sentence_hit: float = 0.0
    seconds: float = 0.0
    score: float | None = None  # the first answer's, if one was given
    kind: str = ""  # how the question asks (who, when, how_much...), where the set says

    @property
    def right(self) -> bool:
        """The first answer cites a gold paragraph and its short answer is the gold one (token
        F1 >= 0.5): what `score` claims the probability of."""
        return self.answerable and self.rank == 1 and self.f1 >= RIGHT_F1


@dataclass(frozen=True)
class Summary:
    method: str
    questions: int
    answerable: int
    r1: float
    r5: float
    mrr10: float
    em: float
    f1: float
    sentence_hit1: float
    answered: float
    no_answer_correct: float
    p50: float
    p95: float
    recall_curve: tuple[float, ...]  # R@1 .. R@10
    # Over every first answer given (unanswerable questions' too, which are never right).
    ece: float = float("nan")  # expected calibration error of `score`
    confident_right: float = float("nan")  # share right among answers scored >= 0.9
    confident: int = 0  # how many those were


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def summarize(method: str, outcomes: Sequence[Outcome]) -> Summary:
    """Retrieval and answer metrics over answerable questions; no_answer over the rest."""
    hits = [o for o in outcomes if o.answerable]
    misses = [o for o in outcomes if not o.answerable]
    seconds = [o.seconds for o in outcomes] or [float("nan")]
    curve = tuple(_mean([recall_at(o.rank, k) for o in hits]) for k in range(1, CUTOFF + 1))
    scores, right = scored(outcomes)
    share, confident = trust.confident_right(scores, right)
    return Summary(
        method=method,
        questions=len(outcomes),
        answerable=len(hits),
        r1=curve[0],
        r5=curve[4],
        mrr10=_mean([reciprocal_rank(o.rank) for o in hits]),
        em=_mean([o.em for o in hits]),
        f1=_mean([o.f1 for o in hits]),
        sentence_hit1=_mean([o.sentence_hit for o in hits]),
        answered=_mean([float(not o.no_answer) for o in hits]),
        no_answer_correct=_mean([float(o.no_answer) for o in misses]),
        p50=float(np.percentile(seconds, 50)),
        p95=float(np.percentile(seconds, 95)),
        recall_curve=curve,
        ece=trust.expected_calibration_error(scores, right),
        confident_right=share,
        confident=confident,
    )


def scored(outcomes: Sequence[Outcome]) -> tuple[list[float], list[float]]:
    """Each first answer's score, and whether it was right."""
    given = [o for o in outcomes if o.score is not None]
    return [float(o.score) for o in given if o.score is not None], [float(o.right) for o in given]
