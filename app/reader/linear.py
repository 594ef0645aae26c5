"""The reader's small learned models, stored in one JSON file: logistic ones (standardise the
features, weigh them, add a bias) and gradient-boosted trees (LightGBM's text format)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from app.reader import WEIGHTS_FILE, compiled_trees


@dataclass(frozen=True)
class LinearModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """One logit per row; rows have the columns named in `features`, in that order."""
        if rows.shape[1] != len(self.features):
            raise ValueError(f"expected {len(self.features)} features, got {rows.shape[1]}")
        z = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.weights) + self.bias

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class TreeModel:
    """Gradient-boosted trees (the sentence, passage and span models): which span answers
    depends on how the question asks crossed with where the span sits and what it is, more
    than a linear model can weigh (dev, held-out articles: F1 +0.08 over the logistic span
    model; docs/quality.md has the others)."""

    def __init__(self, text: str, compiled_dir: Path | None = None) -> None:
        self.booster = lightgbm.Booster(model_str=text)
        self.features = tuple(self.booster.feature_name())
        # The same trees as native code (app/reader/compiled_trees.py), where a cache dir is given.
        self.compiled = compiled_trees.load(text, compiled_dir) if compiled_dir else None

    def logits(self, rows: np.ndarray) -> np.ndarray:
        if rows.shape[1] != len(self.features):
            raise ValueError(f"expected {len(self.features)} features, got {rows.shape[1]}")
        # One thread: a question's few dozen rows cost less than waking a pool.
        if self.compiled is not None:
            return self.compiled.predict(np.asarray(rows, dtype=np.float64), n_jobs=1)
        return np.asarray(self.booster.predict(rows, raw_score=True, num_threads=1))

    def to_text(self) -> str:
        return str(self.booster.model_to_string())


Model = LinearModel | TreeModel


@dataclass(frozen=True)
class ReaderModels:
    """The models the reader applies: which passage, which sentence, any answer, which span;
    and how strongly the best span of each top passage, judged against the spans of the other
    top passages (`cross_span`), moves that passage's rank."""

    passage: Model
    sentence: Model
    answerable: LinearModel
    answerable_threshold: float
    span: Model
    cross_span: Model
    cross_span_weight: float


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def _to_json(model: Model) -> dict[str, object]:
    if isinstance(model, TreeModel):
        return {"kind": "trees", "lightgbm": model.to_text()}
    return {"kind": "linear", **model.to_json()}


def _model(data: dict[str, Any], compiled_dir: Path | None) -> Model:
    if data.get("kind") == "trees":
        return TreeModel(str(data["lightgbm"]), compiled_dir)
    return linear_model(data)


def linear_model(data: dict[str, Any]) -> LinearModel:
    return LinearModel(
        features=tuple(data["features"]),
        mean=tuple(data["mean"]),
        scale=tuple(data["scale"]),
        weights=tuple(data["weights"]),
        bias=float(data["bias"]),
    )


def load_models(path: Path = WEIGHTS_FILE, *, compiled_dir: Path | None = None) -> ReaderModels:
    """The models in `path`; trees run as native code cached in `compiled_dir` where given."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return ReaderModels(
        passage=_model(data["passage"], compiled_dir),
        sentence=_model(data["sentence"], compiled_dir),
        answerable=linear_model(data["answerable"]),
        answerable_threshold=float(data["answerable_threshold"]),
        span=_model(data["span"], compiled_dir),
        cross_span=_model(data["cross_span"], compiled_dir),
        cross_span_weight=float(data["cross_span_weight"]),
    )


def save_models(models: ReaderModels, path: Path, **provenance: object) -> None:
    data = {
        "passage": _to_json(models.passage),
        "sentence": _to_json(models.sentence),
        "answerable": _to_json(models.answerable),
        "answerable_threshold": models.answerable_threshold,
        "span": _to_json(models.span),
        "cross_span": _to_json(models.cross_span),
        "cross_span_weight": models.cross_span_weight,
        "provenance": provenance,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
