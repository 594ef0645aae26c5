"""The reader's stored linear models: standardise, weigh, and round-trip through JSON."""

import numpy as np
import pytest

from app.linear import LinearModel, ReaderModels, load_models, save_models, sigmoid


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


def test_models_round_trip_through_json(tmp_path):
    models = ReaderModels(_model(), _model(), _model(), 0.4, _model())
    path = tmp_path / "w.json"
    save_models(models, path, trained_on="hand")
    assert load_models(path) == models


def test_the_committed_weights_load():
    models = load_models()
    assert 0.0 < models.answerable_threshold < 1.0
    assert models.span is not None
