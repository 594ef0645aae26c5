"""The training data of the reader's models (train/train_reader.py), on the seeds questions."""

from __future__ import annotations

from itertools import accumulate

from app.corpus import corpus_files
from app.evaluate import load_questions
from app.metrics import sentence_hit
from app.store import load
from tests.conftest import SEEDS, SHARED
from train.train_reader import SENTENCE_PASSAGES, gold_row, retrieve_all, sentence_data

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
