"""R@5 on SQuAD test per embedding backend: is a faster backend as good at finding passages?

R@5 = share of answerable questions whose gold paragraph is among the five passages the
service's own hybrid retriever returns. The onnx backend computes the same vectors as torch
(max |difference| is reported), so one onnx-built index stands for both; onnx-int8 gets its
own index, since its document vectors differ too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.archive import store
from app.archive.embed import Embedder, OnnxEmbedder, SentenceTransformerEmbedder
from app.config import Settings
from app.reader.retrieve import Retriever


def load_questions(path: Path, limit: int) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if r.get("answerable", True)][:limit]


def recall_at_5(index: store.Index, embedder: Embedder, questions: list[dict]) -> float:
    retriever = Retriever(index)
    queries = embedder.encode([q["question"] for q in questions])
    hits = 0
    for q, vector in zip(questions, queries, strict=True):
        found = retriever.search(q["question"], vector, k=5)
        rows = {(index.passages[c.row].file, index.passages[c.row].paragraph) for c in found}
        hits += bool(rows & {tuple(s) for s in q["sources"]})
    return round(hits / len(questions), 4)


def run(indexes: dict[str, Path], questions: list[dict], settings: Settings) -> dict:
    """`indexes` maps "fp32" and "int8" to index folders built by those backends."""
    fp32 = store.load(indexes["fp32"])
    torch_model = SentenceTransformerEmbedder(settings.model_path)
    onnx = OnnxEmbedder(settings.model_path, cache_dir=settings.model_cache_dir)
    sample = [c.context for c in fp32.chunks[:256]]
    difference = float(np.abs(torch_model.encode(sample) - onnx.encode(sample)).max())
    result = {
        "questions": len(questions),
        "max_abs_vector_difference_torch_vs_onnx": difference,
        "r_at_5": {
            "torch": recall_at_5(fp32, torch_model, questions),
            "onnx": recall_at_5(fp32, onnx, questions),
        },
    }
    if "int8" in indexes:
        int8 = OnnxEmbedder(settings.model_path, cache_dir=settings.model_cache_dir, quantized=True)
        result["r_at_5"]["onnx-int8"] = recall_at_5(store.load(indexes["int8"]), int8, questions)
    return result
