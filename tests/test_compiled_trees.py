"""The reader's trees as native code: the same scores as LightGBM, compiled once, cached."""

from __future__ import annotations

import lightgbm
import numpy as np
import pytest

from app.config import Settings
from app.reader import compiled_trees
from app.reader.linear import TreeModel, load_models


def _forest(objective: str) -> str:
    rng = np.random.default_rng(3)
    x = rng.random((400, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.8).astype(float)
    params = {"objective": objective, "num_leaves": 7, "verbose": -1, "num_threads": 1}
    group = [20] * 20 if objective == "lambdarank" else None
    data = lightgbm.Dataset(x, y.astype(int) if group else y, group=group)
    return str(lightgbm.train(params, data, num_boost_round=20).model_to_string())


@pytest.mark.parametrize("objective", ["binary", "lambdarank"])
def test_compiled_trees_give_lightgbms_raw_scores(tmp_path, objective):
    text = _forest(objective)
    rows = np.random.default_rng(4).random((50, 4))
    rows[::7, 2] = 0.0  # exact zeros and repeated values take the same branches
    compiled = TreeModel(text, tmp_path)
    assert compiled.compiled is not None
    assert np.allclose(compiled.logits(rows), TreeModel(text).logits(rows), rtol=0, atol=1e-12)


def test_a_second_load_reads_the_cache_instead_of_compiling(tmp_path):
    text = _forest("binary")
    assert compiled_trees.load(text, tmp_path) is not None
    (code,) = tmp_path.glob("*.bin")
    written = code.stat().st_mtime_ns
    again = compiled_trees.load(text, tmp_path)
    assert again is not None and code.stat().st_mtime_ns == written
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".bin", ".sha256", ".txt"]


def test_a_damaged_cache_is_compiled_again(tmp_path):
    text = _forest("binary")
    compiled_trees.load(text, tmp_path)
    (code,) = tmp_path.glob("*.bin")
    code.write_bytes(b"not an object file")
    model = compiled_trees.load(text, tmp_path)
    rows = np.random.default_rng(5).random((10, 4))
    assert model is not None
    assert np.allclose(model.predict(rows, n_jobs=1), TreeModel(text).logits(rows), atol=1e-12)


def test_without_a_cache_dir_the_trees_run_in_lightgbm():
    assert TreeModel(_forest("binary")).compiled is None


def test_the_committed_models_compile_to_the_same_scores():
    # make install compiles them into the default cache, so this loads, not compiles.
    compiled, plain = load_models(compiled_dir=Settings().trees_dir), load_models()
    for name in ("sentence", "passage", "span", "cross_span"):
        fast, slow = getattr(compiled, name), getattr(plain, name)
        rows = np.random.default_rng(6).random((30, len(slow.features))) * 3
        assert fast.compiled is not None, name
        assert np.allclose(fast.logits(rows), slow.logits(rows), rtol=0, atol=1e-9), name
