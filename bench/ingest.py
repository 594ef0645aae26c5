"""Ingest: embedding throughput per backend on the same paragraphs, and a whole index build
(chunks per second, peak memory, size on disk) by the CLI in its own process."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from app.archive.corpus import chunk_article
from app.archive.embed import OnnxEmbedder
from app.archive.ingest import read_corpus
from app.config import Settings
from bench.common import ROOT, python


def chunk_texts(corpus: Path, limit: int) -> list[str]:
    """What indexing embeds for chunks: each chunk under its title and heading."""
    articles, _ = read_corpus(corpus)
    return [c.context for a in articles for c in chunk_article(a)][:limit]


def embed_throughput(texts: list[str], settings: Settings) -> dict[str, float]:
    """Texts per second: sentence-transformers' default encode (PyTorch, batch 32) against
    the ONNX backends with the service's batch size, all on the same texts."""
    from sentence_transformers import SentenceTransformer

    rates = {}
    model = SentenceTransformer(str(settings.model_path), device="cpu", local_files_only=True)
    model.encode(texts[:8])
    began = time.perf_counter()
    model.encode(texts)  # the defaults, as a user of the library would call it
    rates["torch_default"] = len(texts) / (time.perf_counter() - began)
    del model
    for backend in ("onnx", "onnx-int8"):
        onnx = OnnxEmbedder(
            settings.model_path,
            cache_dir=settings.model_cache_dir,
            quantized=backend == "onnx-int8",
            batch_size=settings.embed_batch_size,
        )
        onnx.encode(texts[:8])
        began = time.perf_counter()
        onnx.encode(texts)
        rates[backend] = len(texts) / (time.perf_counter() - began)
    return {k: round(v, 1) for k, v in rates.items()}


def full_build(corpus: Path, index_dir: Path, env: dict[str, str]) -> dict[str, float]:
    """`python -m app index` from scratch under /usr/bin/time: what an operator would see."""
    shutil.rmtree(index_dir, ignore_errors=True)
    cli = [python(), "-m", "app", "index", str(corpus), "--index-dir", str(index_dir)]
    began = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *cli], env=env, cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    if done.returncode:
        raise RuntimeError(f"index build failed: {done.stderr[-2000:]}")
    chunks = int(re.search(r"(\d+) chunks in", done.stdout).group(1))  # type: ignore[union-attr]
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))  # type: ignore[union-attr]
    version = (index_dir / "current").resolve()
    size = sum(f.stat().st_size for f in version.iterdir())
    return {
        "chunks": chunks,
        "seconds": round(wall, 1),
        "chunks_per_s": round(chunks / wall, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "index_mb": round(size / 2**20, 1),
        "backend": env.get("NEWSROOM_BACKEND", Settings().backend),
    }
