"""The answer stage's pure parts: fusing the passage and cross-span scores, the short cut."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.reader.answer import fuse
from app.reader.span import Spans

_floats = st.floats(-20, 20, allow_nan=False)


def test_fuse_lets_a_leader_with_a_better_span_overtake_the_first():
    logits = np.array([3.5, 2.9, 0.7, -1.0])
    fused = fuse(logits, [0, 1, 2], np.array([-1.8, 0.0, -2.3]), weight=0.5)
    assert list(np.argsort(-fused)) == [1, 0, 2, 3]
    assert fused[1] == 2.9 and fused[0] == 3.5 - 0.9


def test_fuse_with_no_weight_keeps_the_passage_order():
    logits = np.array([1.0, 3.0, 2.0])
    assert list(np.argsort(-fuse(logits, [1, 2], np.array([5.0, -5.0]), 0.0))) == [1, 2, 0]


def test_fuse_of_no_candidates_is_empty():
    assert len(fuse(np.zeros(0), [], np.zeros(0), 0.5)) == 0


@given(
    st.lists(_floats, min_size=1, max_size=12),
    st.integers(1, 5),
    st.lists(_floats, min_size=5, max_size=5),
    st.floats(0, 2),
)
def test_fuse_never_lets_a_passage_outside_the_leaders_overtake_one(raw, depth, found, weight):
    logits = np.asarray(raw)
    leaders = [int(i) for i in np.argsort(-logits, kind="stable")[:depth]]
    fused = fuse(logits, leaders, np.asarray(found[: len(leaders)]), weight)
    rest = [i for i in range(len(logits)) if i not in leaders]
    assert all(fused[i] <= fused[j] for i in rest for j in leaders)


def test_a_sentence_without_spans_is_cut_whole():
    spans = Spans((10, 40), [], [], np.zeros((0, 3)), np.zeros(0))
    assert spans.cut() == (10, 40)


def test_the_best_weighed_span_is_cut():
    options = [(10, 14, "PERSON"), (20, 31, "DATE"), (33, 40, "PHRASE")]
    texts = ["Anna", "3 June 2021", "a plan"]
    spans = Spans((10, 40), options, texts, np.zeros((3, 3)), np.array([-3.0, 4.0, -2.0]))
    assert spans.cut() == (20, 31)


def test_the_reader_refuses_models_trained_on_other_columns():
    from dataclasses import replace

    from app.reader.answer import check_features
    from app.reader.linear import load_models

    models = load_models()
    assert check_features(models) is models
    names = models.answerable.features
    swapped = (names[1], names[0], *names[2:])  # the same columns, two of them reordered
    with pytest.raises(ValueError, match="answerable"):
        check_features(replace(models, answerable=replace(models.answerable, features=swapped)))


def test_feature_tables_are_built_by_name_in_the_models_order():
    from app.reader.columns import table

    rows = table(("b", "a"), a=[1.0, 2.0], b=np.array([3.0, 4.0]))
    assert rows.dtype == np.float32
    assert rows.tolist() == [[3.0, 1.0], [4.0, 2.0]]
    with pytest.raises(ValueError, match="missing \\['b'\\], unknown \\['c'\\]"):
        table(("b", "a"), a=[1.0], c=[2.0])
