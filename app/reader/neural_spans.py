"""Short answers from the span reader (NEWSROOM_READER=neural): each leading passage's window is
read, its best span is the answer, its margin over no-answer moves the passage's rank, and a
calibrated model turns the evidence into `score`, the probability that the answer is right.

The trees keep what they are strong at (which passages, which sentence); the calibration in
span_model/calibration.json is fitted on SQuAD dev articles only (train/calibrate_span_reader.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from app.archive.store import Passage
from app.config import Settings
from app.reader import neural
from app.reader.linear import LinearModel, linear_model

CALIBRATION_FILE = neural.MODEL_DIR / "calibration.json"

# The confidence model's columns: question-level evidence from the trees, the passage's share
# of the ranking, the reader's own belief in its span, and whether the answer is the first: at
# the same evidence a first answer is right more often than a runner-up (without the column,
# SQuAD test's first answers were right 0.49 of the time in the 0.2-0.3 bin).
CONFIDENCE_FEATURES = ("answerable_logit", "log_share", "margin", "log_probability", "first")
# A window with no span the model may pick (all question words, say) counts as a clear "no".
FLOOR = -20.0


class ReadsSpans(Protocol):
    def read(self, questions: Sequence[str], windows: Sequence[str]) -> list[neural.Pick]: ...


@dataclass(frozen=True)
class Calibration:
    passage_weight: float  # how far the reader's margin moves a leading passage's logit
    confidence: LinearModel  # CONFIDENCE_FEATURES -> logit of "this answer is right"
    threshold: float  # no answer below this top score
    # Isotonic regression over that logit (its knots): the share right, monotone in the logit.
    knots: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())

    def probability(self, rows: np.ndarray) -> np.ndarray:
        logits = self.confidence.logits(rows)
        xs, ys = self.knots
        if not xs:
            return 1 / (1 + np.exp(-logits))
        return np.interp(logits, xs, ys)

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = linear_model(data["confidence"])
        if model.features != CONFIDENCE_FEATURES:
            raise ValueError(
                "The span reader's calibration was fitted on other features than the code "
                "builds; refit it (train/calibrate_span_reader.py)."
            )
        knots = data.get("isotonic", {"logits": [], "right": []})
        return cls(
            float(data["passage_weight"]),
            model,
            float(data["threshold"]),
            (tuple(knots["logits"]), tuple(knots["right"])),
        )


@dataclass(frozen=True)
class NeuralSpan:
    """The reader's answer in one passage: file offsets of the span and of its sentence."""

    sentence: tuple[int, int]
    span: tuple[int, int]
    margin: float
    probability: float

    def cut(self) -> tuple[int, int]:
        return self.span


class NeuralSpans:
    def __init__(self, model: ReadsSpans, calibration: Calibration) -> None:
        self.model = model
        self.calibration = calibration

    def close(self) -> None:
        """Stop the model's batcher, if it has one."""
        if isinstance(self.model, neural.BatchingSpanModel):
            self.model.close()

    def spans(
        self, question: str, passages: Sequence[Passage], chosen: Sequence[int]
    ) -> list[NeuralSpan]:
        """Each passage's best span, in the window around its chosen sentence; one model call."""
        cuts = [neural.window(p.sentences, c) for p, c in zip(passages, chosen, strict=True)]
        texts = [
            p.text[a - p.start : b - p.start] for p, (a, b) in zip(passages, cuts, strict=True)
        ]
        picks = self.model.read([question] * len(texts), texts)
        return [
            _placed(p, c, lo, pick)
            for p, c, (lo, _), pick in zip(passages, chosen, cuts, picks, strict=True)
        ]

    def confidence(self, answerable: float, share: float, span: NeuralSpan, first: bool) -> float:
        """P(right): the cited paragraph answers and the span is the answer."""
        row = features(answerable, share, span, first)
        return float(self.calibration.probability(row[None, :])[0])


def monotone(scores: list[float]) -> list[float]:
    """A later answer claims no more than the one before it: the order is the passages', and
    the first answer's score is the best calibrated (runners-up are most of the rows but are
    rarely read)."""
    return (
        [float(v) for v in np.minimum.accumulate(np.asarray(scores, dtype=float))] if scores else []
    )


def features(answerable: float, share: float, span: NeuralSpan, first: bool) -> np.ndarray:
    p = min(max(answerable, 1e-6), 1 - 1e-6)
    return np.array(
        [
            math.log(p / (1 - p)),
            math.log(max(share, 1e-9)),
            max(span.margin, FLOOR),
            math.log(max(span.probability, 1e-9)),
            float(first),
        ]
    )


def _placed(passage: Passage, chosen: int, base: int, pick: neural.Pick) -> NeuralSpan:
    """The pick in file offsets, with the sentence that holds its start."""
    if pick.end <= pick.start:
        sentence = passage.sentences[chosen]
        return NeuralSpan(sentence, sentence, FLOOR, 0.0)
    start, end = base + pick.start, base + pick.end
    sentence = next(
        (s for s in passage.sentences if s[0] <= start < s[1]), passage.sentences[chosen]
    )
    return NeuralSpan(sentence, (start, end), pick.margin, pick.probability)


def load(settings: Settings, *, batched: bool = False) -> NeuralSpans | None:
    """The span reader the settings ask for; None for the trees' spans (NEWSROOM_READER=trees).
    `batched`: concurrent requests share model calls, as a server's do."""
    if settings.reader == "trees":
        return None
    inner = neural.SpanModel(threads=settings.threads)
    model: ReadsSpans = inner
    if batched:
        model = neural.BatchingSpanModel(
            inner,
            max_wait_ms=settings.batch_wait_ms,
            max_batch=settings.batch_max,
            timeout_s=settings.batch_timeout_s,
        )
    return NeuralSpans(model, Calibration.load())
