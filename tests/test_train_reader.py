"""The training data of the reader's models (train/train_reader.py), on the seeds questions."""

from __future__ import annotations

from itertools import accumulate

import lightgbm
import numpy as np

from app.archive.corpus import corpus_files
from app.archive.store import load
from app.evaluate import load_questions
from app.metrics import sentence_hit
from tests.conftest import SEEDS, SHARED
from train.train_reader import (
    SENTENCE_PASSAGES,
    average_forests,
    gold_row,
    retrieve_all,
    sentence_data,
)

QUESTIONS = SHARED / "eval" / "seeds" / "questions.jsonl"


def test_sentence_groups_come_from_the_gold_and_first_retrieved_passages(seeds_index, embedder):
    index = load(seeds_index)
    names = {p.name for p in corpus_files(SEEDS)}
    questions = [q for q in load_questions(QUESTIONS, names) if q.answerable]
    _, data = retrieve_all(questions, index, embedder, depth=10)
    x, y, groups = sentence_data(index, data)

    expected = []
    for r in data:
        shown = set(range(SENTENCE_PASSAGES)) | {gold_row(index, r)} - {None}
        for i in sorted(shown):
            p = index.passages[r.candidates[i].row]
            hits = [sentence_hit(p.text[s - p.start : e - p.start], r.question.answers)
                    for s, e in p.sentences]  # fmt: skip
            if any(hits):
                expected.append(len(hits))
    assert groups == expected
    assert len(x) == len(y) == sum(groups)
    # Every group has an answer to rank first; the gold paragraph of each question is one.
    bounds = [0, *accumulate(groups)]
    assert all(y[a:b].any() for a, b in zip(bounds, bounds[1:], strict=False))
    assert len(groups) >= len(data)


def test_an_averaged_forest_scores_the_mean_of_its_forests():
    rng = np.random.default_rng(8)
    x = rng.random((300, 3))
    data = lightgbm.Dataset(x, (x[:, 0] > x[:, 1]).astype(float))
    forests = [
        lightgbm.train(
            {"objective": "binary", "seed": seed, "bagging_fraction": 0.7, "bagging_freq": 1,
             "num_leaves": 5, "verbose": -1, "num_threads": 1},
            data,
            num_boost_round=8,
        )
        for seed in (1, 2, 3)
    ]  # fmt: skip
    merged = lightgbm.Booster(model_str=average_forests([f.model_to_string() for f in forests]))
    rows = rng.random((40, 3))
    mean = np.mean([f.predict(rows, raw_score=True) for f in forests], axis=0)
    assert merged.num_trees() == 24
    assert np.allclose(merged.predict(rows, raw_score=True), mean, rtol=0, atol=1e-12)
