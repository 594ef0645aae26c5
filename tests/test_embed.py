"""The ONNX backends against sentence-transformers, on the texts indexing embeds."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from app.archive.embed import OnnxEmbedder
from app.archive.onnx_model import graph_path, model_name
from app.config import Settings

TEXTS = [
    "Kosovo — Economy\nDenmark paid Kosovo to hold some of its prisoners.",
    "A short one.",
    "The ministry said on Tuesday that the agreement, signed in Pristina, covers 300 cells "
    "for ten years, and that the first prisoners would arrive next year.",
]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


def _ops(path) -> set[str]:
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_fp32_graph_has_attention_fused_and_gives_the_torch_vectors(settings, embedder):
    onnx_fp32 = OnnxEmbedder(settings.model_path, cache_dir=settings.model_cache_dir)
    graph = graph_path(
        settings.model_cache_dir, model_name(settings.model_path), quantized=False, fused=True
    )
    assert {"Attention", "EmbedLayerNormalization"} <= _ops(graph)
    assert onnx_fp32.name == embedder.name  # the same vectors: torch-built indexes serve
    assert np.abs(onnx_fp32.encode(TEXTS) - embedder.encode(TEXTS)).max() < 1e-5


def test_int8_is_quantised_from_the_graph_its_indexes_were_built_with(settings, embedder):
    int8 = OnnxEmbedder(settings.model_path, cache_dir=settings.model_cache_dir, quantized=True)
    graph = graph_path(settings.model_cache_dir, model_name(settings.model_path), quantized=True)
    assert "Attention" not in _ops(graph)
    assert int8.name.endswith("+int8")
    cosines = (int8.encode(TEXTS) * embedder.encode(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.97
