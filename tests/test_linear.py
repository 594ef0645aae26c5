"""The reader's stored linear models: standardise, weigh, and round-trip through JSON."""

import lightgbm
import numpy as np
import pytest

from app.reader.linear import (
    LinearModel,
    ReaderModels,
    TreeModel,
    load_models,
    save_models,
    sigmoid,
)
from app.reader.span_features import SPAN_FEATURES


def _model() -> LinearModel:
    return LinearModel(("a", "b"), (1.0, 0.0), (2.0, 1.0), (1.0, -1.0), 0.5)


def test_logits_standardise_then_weigh():
    rows = np.array([[3.0, 1.0], [1.0, 0.0]])
    # (3-1)/2*1 + (1-0)/1*-1 + 0.5 = 0.5 ; 0 + 0 + 0.5 = 0.5
    assert np.allclose(_model().logits(rows), [0.5, 0.5])


def test_logits_refuse_the_wrong_number_of_features():
    with pytest.raises(ValueError):
        _model().logits(np.zeros((1, 3)))


def test_sigmoid_is_a_probability_even_far_out():
    assert sigmoid(0.0) == 0.5
    assert 0.0 <= sigmoid(-1e6) < 1e-20 and sigmoid(1e6) == pytest.approx(1.0)


def _trees() -> TreeModel:
    rng = np.random.default_rng(0)
    x = rng.random((200, 2))
    data = lightgbm.Dataset(x, (x[:, 0] > 0.5).astype(float), feature_name=["a", "b"])
    params = {"objective": "binary", "verbose": -1, "num_threads": 1}
    return TreeModel(lightgbm.train(params, data, num_boost_round=5).model_to_string())


def test_models_round_trip_through_their_files(tmp_path):
    trees = _trees()
    models = ReaderModels(_model(), trees, _model(), 0.4, trees, trees, 0.5)
    save_models(models, tmp_path / "w.json", trained_on="hand")
    loaded = load_models(tmp_path / "w.json")
    assert (loaded.passage, loaded.answerable) == (_model(), _model())
    assert (loaded.answerable_threshold, loaded.cross_span_weight) == (0.4, 0.5)
    rows = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert np.allclose(loaded.span.logits(rows), trees.logits(rows))
    assert np.allclose(loaded.sentence.logits(rows), trees.logits(rows))
    assert np.allclose(loaded.cross_span.logits(rows), trees.logits(rows))
    assert loaded.span.logits(rows)[0] > loaded.span.logits(rows)[1]


def test_tree_model_refuses_the_wrong_number_of_features():
    with pytest.raises(ValueError):
        _trees().logits(np.zeros((1, 3)))


def test_the_committed_weights_load():
    models = load_models()
    assert 0.0 < models.answerable_threshold < 1.0
    assert models.span.features[: len(SPAN_FEATURES)] == SPAN_FEATURES
    assert models.cross_span.features == SPAN_FEATURES
    assert models.cross_span_weight > 0.0
