"""The floors /ask cannot beat, measured on the same index: one question's embedding by
sentence-transformers' own encode, one raw FAISS search, and one raw bm25s query; and what the
rate limit adds to each request."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import bm25s
import Stemmer
import torch

from app.archive import store
from app.archive.embed import OnnxEmbedder, SentenceTransformerEmbedder
from app.config import Settings
from app.rate_limit import RateLimiter
from bench.common import percentiles


def _timed(call, items) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for item in items:
        began = time.perf_counter()
        call(item)
        times.append(time.perf_counter() - began)
    return times


def run(index_dir: Path, questions: list[str], settings: Settings) -> dict[str, object]:
    index = store.load(index_dir)
    torch_model = SentenceTransformerEmbedder(settings.model_path)
    _timed(lambda q: torch_model.encode([q]), questions[:5])  # warm-up
    embed = _timed(lambda q: torch_model.encode([q]), questions)
    # On busy cores torch's second thread mostly waits at barriers; the floor is whichever
    # thread count is faster, so /ask is held to the stronger of the two.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    embed_one_thread = _timed(lambda q: torch_model.encode([q]), questions)
    torch.set_num_threads(threads)
    if percentiles(embed_one_thread)["p50_ms"] < percentiles(embed)["p50_ms"]:
        embed, embed_one_thread = embed_one_thread, embed
    queries = torch_model.encode(questions)
    search = _timed(lambda v: index.faiss.search(v.reshape(1, -1), 100), queries)
    onnx = {}
    for backend in ("onnx", "onnx-int8"):
        model = OnnxEmbedder(
            settings.model_path,
            cache_dir=settings.model_cache_dir,
            quantized=backend == "onnx-int8",
        )
        _timed(lambda q, m=model: m.encode([q]), questions[:5])
        onnx[backend] = percentiles(_timed(lambda q, m=model: m.encode([q]), questions))
    bm25 = _bm25_floor(index, questions)
    p50 = percentiles(embed)["p50_ms"] + percentiles(search)["p50_ms"]
    return {
        "chunks": len(index.chunks),
        "faiss_index": index.faiss_kind,
        "embed_torch": percentiles(embed),
        "embed_torch_other_threads": percentiles(embed_one_thread),
        "embed_onnx": onnx["onnx"],
        "embed_onnx_int8": onnx["onnx-int8"],
        "faiss_search": percentiles(search),
        "bm25": bm25,
        "floor_p50_ms": round(p50, 2),
        "rate_limit_check_us": rate_limit_check_us(),
    }


def rate_limit_check_us(batches: int = 20, batch: int = 1000) -> float:
    """One rate-limit check on the table serve's workers share (lock, hash, read and write a
    slot), 1000 clients in turn: the median over batches, in microseconds."""
    clients = [f"10.0.{n // 256}.{n % 256}" for n in range(1000)]
    with tempfile.TemporaryDirectory() as folder:
        limiter = RateLimiter(600, 600, path=Path(folder, "rate-limit"))
        times = []
        for _ in range(batches):
            began = time.perf_counter()
            for n in range(batch):
                limiter.take(clients[n % len(clients)])
            times.append((time.perf_counter() - began) / batch)
        limiter.close()
    return round(statistics.median(times) * 1e6, 2)


def _bm25_floor(index: store.Index, questions: list[str]) -> dict[str, float]:
    """bm25s on its own: tokenise the question, score every chunk, take the top 100."""
    stemmer = Stemmer.Stemmer("english")
    corpus = bm25s.tokenize(
        [c.context for c in index.chunks], stopwords="en", stemmer=stemmer, show_progress=False
    )
    model = bm25s.BM25()
    model.index(corpus, show_progress=False)
    k = min(100, len(index.chunks))

    def query(q: str) -> None:
        tokens = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        model.retrieve(tokens, k=k, show_progress=False, n_threads=1)

    return percentiles(_timed(query, questions))


if __name__ == "__main__":
    import json
    import sys

    from bench.common import SQUAD
    from bench.common import questions as load_questions

    result = run(Path(sys.argv[1]), load_questions(SQUAD / "test.jsonl", 200), Settings())
    print(json.dumps(result, indent=1))
