"""Passage search: each passage scores as its best chunk, the same as a plain loop finds."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.archive.store import load
from app.reader.question import parse
from app.reader.retrieve import Candidate, Method, Retriever
from tests.conftest import SHARED

SEED_QUESTIONS = SHARED / "eval" / "seeds" / "questions.jsonl"


def loop_search(
    retriever: Retriever, question: str, query: np.ndarray, k: int, method: Method
) -> list[Candidate]:
    """The search as first written, one chunk at a time (ties: lower chunk, lower passage)."""
    lexical = retriever.bm25_scores(parse(question))
    rows = set()
    if method != "bm25":
        rows |= {int(r) for r in retriever.dense_rows(query, retriever.fusion.depth)}
    if method != "dense":
        order = np.argsort(-lexical, kind="stable")[: retriever.fusion.depth]
        rows |= {int(r) for r in order if lexical[r] > 0}
    lex_max = max((float(lexical[r]) for r in rows), default=0.0) if method != "dense" else 0.0
    best: dict[int, Candidate] = {}
    for row in sorted(rows):
        cosine = float(retriever.index.chunk_vectors[row] @ query)
        lex = float(lexical[row]) / lex_max if lex_max > 0 else 0.0
        w = retriever.fusion.dense_weight
        fused = {"bm25": lex, "dense": cosine, "hybrid": w * cosine + (1 - w) * lex}[method]
        passage = int(retriever.chunk_passage[row])
        if passage not in best or fused > best[passage].score:
            best[passage] = Candidate(passage, fused, cosine, lex, lex * lex_max)
    return sorted(best.values(), key=lambda c: (-c.score, c.row))[:k]


@pytest.mark.parametrize("method", ["hybrid", "bm25", "dense"])
def test_search_keeps_each_passages_best_chunk_in_score_order(seeds_index, embedder, method):
    retriever = Retriever(load(seeds_index))
    questions = [json.loads(line)["question"] for line in SEED_QUESTIONS.read_text().splitlines()]
    questions += ["Who pays Kosovo?", "zqxwvy"]
    for question, query in zip(questions, embedder.encode(questions), strict=True):
        found = retriever.search(parse(question), query, k=5, method=method)
        expected = loop_search(retriever, question, query, 5, method)
        assert [c.row for c in found] == [c.row for c in expected], question
        for got, want in zip(found, expected, strict=True):
            np.testing.assert_allclose(
                [got.score, got.dense, got.bm25, got.bm25_raw],
                [want.score, want.dense, want.bm25, want.bm25_raw],
                rtol=1e-5,
                atol=1e-6,
            )


def test_a_question_with_no_known_word_finds_nothing_by_bm25(seeds_index, embedder):
    retriever = Retriever(load(seeds_index))
    query = embedder.encode(["zqxwvy"])[0]
    assert retriever.search(parse("zqxwvy"), query, k=5, method="bm25") == []


def test_dense_search_in_a_worker_thread_uses_one_openmp_thread(seeds_index, embedder):
    """/ask runs in threads FastAPI starts; OpenMP's thread count is per calling thread, so a
    setting made once at startup would not reach them (6 ms of spinning CPU a request)."""
    import faiss

    retriever = Retriever(load(seeds_index))
    query = embedder.encode(["Which country pays Kosovo?"])[0]

    def search_then_count() -> int:
        retriever.search(parse("Which country pays Kosovo?"), query, k=3)
        return int(faiss.omp_get_max_threads())

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(search_then_count).result() == 1
