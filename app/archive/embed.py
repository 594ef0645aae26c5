"""The embedding model behind a small Protocol: texts -> unit-length float32 rows."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from app.archive.onnx_model import INPUTS, ensure_graph, model_name

if TYPE_CHECKING:
    from app.config import Settings

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or another local sentence-transformers model), loaded by path."""

    def __init__(self, model_path: Path, *, batch_size: int = 64, threads: int = 0) -> None:
        # Never reach for the hub: the model is on disk or it is an error.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)  # process-wide; 0 keeps torch's one per core
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise on every start

        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        self.name = model_name(model_path)
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = batch_size
        logger.info("loaded embedding model %s (dim %d)", model_path, self.dim)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxEmbedder:
    """The same model run by ONNX Runtime: no autograd or Python-side module overhead, fused
    BERT kernels, and optionally int8 weights (`quantized=True`)."""

    def __init__(
        self,
        model_path: Path,
        *,
        cache_dir: Path,
        quantized: bool = False,
        batch_size: int = 64,
        threads: int = 0,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        base = model_name(model_path)
        graph = ensure_graph(model_path, cache_dir, base, quantized=quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0 = one per core
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep instead of spinning: on shared or busy cores a spinning pool
        # steals the CPU the other requests (and the other thread of this pool) need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [i for i in INPUTS if i in {x.name for x in self._session.get_inputs()}]
        self._tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        # Pad each batch only to its longest text, and cut where sentence-transformers does.
        self._tokenizer.enable_truncation(max_length=_max_seq_length(model_path))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        # int8 vectors differ from the fp32 ones (cosine ~0.99): an index built by one must
        # not be served with the other's queries, so the name carries the variant.
        self.name = f"{base}+int8" if quantized else base
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.batch_size = batch_size
        logger.info("loaded ONNX model %s (dim %d) from %s", self.name, self.dim, graph)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first, like sentence-transformers: batches of similar length pad least.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        for lo in _progress(starts) if progress else starts:
            rows = order[lo : lo + self.batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = self._session.run(None, {k: feed[k] for k in self._inputs})[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _progress(batches: range) -> range:
    from tqdm import tqdm

    return tqdm(batches, desc="Batches", unit="batch")  # type: ignore[return-value]


def _max_seq_length(model_path: Path) -> int:
    config = Path(model_path) / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (NEWSROOM_BACKEND=torch|onnx|onnx-int8)."""
    if settings.backend == "torch":
        return SentenceTransformerEmbedder(
            settings.model_path, batch_size=settings.embed_batch_size, threads=settings.threads
        )
    return OnnxEmbedder(
        settings.model_path,
        cache_dir=settings.model_cache_dir,
        quantized=settings.backend == "onnx-int8",
        batch_size=settings.embed_batch_size,
        threads=settings.threads,
    )


def embedder_name(settings: Settings) -> str:
    """The name load_embedder(settings) will have, without loading the model."""
    base = model_name(settings.model_path)
    return f"{base}+int8" if settings.backend == "onnx-int8" else base
