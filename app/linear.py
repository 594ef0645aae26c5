"""Small logistic models, stored as JSON: standardise the features, weigh them, add a bias."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

WEIGHTS_FILE = Path(__file__).with_name("reader_weights.json")


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


@dataclass(frozen=True)
class ReaderModels:
    """The models the reader applies: which passage, which sentence, any answer, which span."""

    passage: LinearModel
    sentence: LinearModel
    answerable: LinearModel
    answerable_threshold: float = 0.5
    span: LinearModel | None = None


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def _model(data: dict[str, list[float] | float | list[str]]) -> LinearModel:
    return LinearModel(
        features=tuple(data["features"]),  # type: ignore[arg-type]
        mean=tuple(data["mean"]),  # type: ignore[arg-type]
        scale=tuple(data["scale"]),  # type: ignore[arg-type]
        weights=tuple(data["weights"]),  # type: ignore[arg-type]
        bias=float(data["bias"]),  # type: ignore[arg-type]
    )


def load_models(path: Path = WEIGHTS_FILE) -> ReaderModels:
    data = json.loads(path.read_text(encoding="utf-8"))
    return ReaderModels(
        passage=_model(data["passage"]),
        sentence=_model(data["sentence"]),
        answerable=_model(data["answerable"]),
        answerable_threshold=float(data["answerable_threshold"]),
        span=_model(data["span"]) if "span" in data else None,
    )


def save_models(models: ReaderModels, path: Path, **provenance: object) -> None:
    data = {
        "passage": models.passage.to_json(),
        "sentence": models.sentence.to_json(),
        "answerable": models.answerable.to_json(),
        "answerable_threshold": models.answerable_threshold,
        **({"span": models.span.to_json()} if models.span else {}),
        "provenance": provenance,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
