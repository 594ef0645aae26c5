"""How far a score can be trusted: reliability bins (score -> share right), the expected
calibration error, and the share right among confident answers. Pure functions over scores
and whether each answer was right."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

BINS = 10
CONFIDENT = 0.9


def reliability(
    scores: Sequence[float] | np.ndarray, right: Sequence[float] | np.ndarray, bins: int = BINS
) -> list[dict[str, float]]:
    """Equal-width score bins, each with its answers, mean score and share right (empty bins
    left out)."""
    p, y = np.asarray(scores, dtype=float), np.asarray(right, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mine = which == b
        if mine.any():
            out.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "answers": int(mine.sum()),
                    "mean_score": float(p[mine].mean()),
                    "right": float(y[mine].mean()),
                }
            )
    return out


def expected_calibration_error(
    scores: Sequence[float] | np.ndarray, right: Sequence[float] | np.ndarray, bins: int = BINS
) -> float:
    """The answers-weighted mean gap between score and share right over the bins."""
    n = len(scores)
    if not n:
        return float("nan")
    return float(
        sum(
            b["answers"] / n * abs(b["mean_score"] - b["right"])
            for b in reliability(scores, right, bins)
        )
    )


def confident_right(
    scores: Sequence[float] | np.ndarray, right: Sequence[float] | np.ndarray, at: float = CONFIDENT
) -> tuple[float, int]:
    """The share right among answers scored `at` or more, and how many there were."""
    p, y = np.asarray(scores, dtype=float), np.asarray(right, dtype=float)
    mine = p >= at
    return (float(y[mine].mean()) if mine.any() else float("nan")), int(mine.sum())


def table(bins: list[dict[str, float]]) -> str:
    """The reliability bins as a Markdown table."""
    lines = ["| score | answers | mean score | share right |", "|---|---|---|---|"]
    lines += [
        f"| {b['low']:.1f}-{b['high']:.1f} | {b['answers']} | {b['mean_score']:.3f} "
        f"| {b['right']:.3f} |"
        for b in bins
    ]
    return "\n".join(lines)


def plot(bins: list[dict[str, float]], path: Path, title: str) -> None:
    """The reliability diagram: share right against mean score per bin, the diagonal beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot(
        [b["mean_score"] for b in bins], [b["right"] for b in bins], marker="o", label="this reader"
    )
    for b in bins:
        ax.annotate(
            str(b["answers"]),
            (b["mean_score"], b["right"]),
            fontsize=7,
            xytext=(3, -9),
            textcoords="offset points",
        )
    ax.set(
        xlabel="score (mean in bin)",
        ylabel="share of answers right",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
