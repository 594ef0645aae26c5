"""A deterministic stand-in for the embedding model, for unit tests of indexing and storage."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashingEmbedder:
    """Bag of hashed words: similar texts get similar vectors; counts every text it embeds."""

    name = "hashing-test"
    dim = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for word in re.findall(r"\w+", text.lower()):
                row[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = np.linalg.norm(row)
            row /= norm if norm else 1.0
        return rows
