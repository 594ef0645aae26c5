"""What `eval` prints and writes: the summary table, the breakdown by question kind, the
reliability of the scores (table and plot), R@k plots, JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app import trust
from app.metrics import CUTOFF, Outcome, Summary, scored, summarize

_COLUMNS = (
    ("method", "method", "{}"),
    ("n", "questions", "{}"),
    ("R@1", "r1", "{:.3f}"),
    ("R@5", "r5", "{:.3f}"),
    ("MRR@10", "mrr10", "{:.3f}"),
    ("EM", "em", "{:.3f}"),
    ("F1", "f1", "{:.3f}"),
    ("sent@1", "sentence_hit1", "{:.3f}"),
    ("answered", "answered", "{:.3f}"),
    ("no_ans_ok", "no_answer_correct", "{:.3f}"),
    ("ECE", "ece", "{:.3f}"),
    ("right@>=0.9", "confident_right", "{:.3f}"),
    ("n@>=0.9", "confident", "{}"),
    ("p50 s", "p50", "{:.3f}"),
    ("p95 s", "p95", "{:.3f}"),
)


def _cell(fmt: str, value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return fmt.format(value)


def table(summaries: Sequence[Summary]) -> str:
    """A Markdown table, one row per method."""
    header = "| " + " | ".join(name for name, _, _ in _COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in _COLUMNS) + "|"
    rows = [
        "| " + " | ".join(_cell(fmt, getattr(s, key)) for _, key, fmt in _COLUMNS) + " |"
        for s in summaries
    ]
    return "\n".join([header, rule, *rows])


def as_json(summaries: Sequence[Summary]) -> str:
    def clean(value: Any) -> Any:
        # NaN (a metric with no questions to average) is not JSON; null is.
        if isinstance(value, list):
            return [clean(v) for v in value]
        return None if isinstance(value, float) and math.isnan(value) else value

    rows = [{k: clean(v) for k, v in asdict(s).items()} for s in summaries]
    return json.dumps(rows, indent=1)


def plot_recall(summaries: Sequence[Summary], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ks = list(range(1, CUTOFF + 1))
    for s in summaries:
        ax.plot(ks, s.recall_curve, marker="o", label=s.method)
    ax.set(xlabel="k", ylabel="R@k (gold paragraph cited in top k)", title=title, xticks=ks)
    ax.grid(alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def by_kind(outcomes: Sequence[Outcome]) -> list[Summary]:
    """One summary per question kind (the set's `kind` field), in order of first appearance."""
    kinds = list(dict.fromkeys(o.kind for o in outcomes if o.kind))
    return [summarize(k, [o for o in outcomes if o.kind == k]) for k in kinds]


def reliability(outcomes: Sequence[Outcome]) -> list[dict[str, float]]:
    """Score bins of the first answers given, with the share right in each."""
    return trust.reliability(*scored(outcomes))


def details(outcomes: Sequence[Outcome]) -> str:
    """The breakdown by question kind (where the set has kinds) and the scores' reliability."""
    parts = []
    kinds = by_kind(outcomes)
    if kinds:
        parts += ["", "By question kind:", table(kinds)]
    bins = reliability(outcomes)
    if bins:
        scores, right = scored(outcomes)
        ece = trust.expected_calibration_error(scores, right)
        parts += [
            "",
            f"Reliability of the first answer's score (ECE {ece:.3f}):",
            trust.table(bins),
        ]
    return "\n".join(parts)
