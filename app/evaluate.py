"""Measure answer quality on a question set: every question goes through Reader.ask, as /ask."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from app import eval_report as report
from app import feedback_eval, trust
from app.archive import store
from app.archive.corpus import corpus_files
from app.archive.embed import Embedder
from app.metrics import (
    CUTOFF,
    Outcome,
    Question,
    Summary,
    exact_match,
    f1_score,
    gold_rank,
    sentence_hit,
    summarize,
)
from app.reader import neural_spans
from app.reader.answer import Answer, Citation, Reader, Result
from app.reader.linear import load_models
from app.reader.retrieve import Method, Retriever

logger = logging.getLogger(__name__)

BASELINES: tuple[Method, ...] = ("bm25", "dense")


def load_questions(path: Path, corpus_files_present: set[str]) -> list[Question]:
    """Questions from a jsonl file; one whose gold articles are not in this corpus has no
    answer here (that is how out-of-archive questions are made)."""
    questions = []
    with open(path, encoding="utf-8") as handle:
        for line in filter(str.strip, handle):
            row = json.loads(line)
            sources = tuple((str(f), int(p)) for f, p in row.get("sources", []))
            present = any(f in corpus_files_present for f, _ in sources)
            answerable = bool(row.get("answerable", True)) and present
            questions.append(
                Question(
                    str(row["id"]),
                    row["question"],
                    tuple(row["answers"]),
                    sources,
                    answerable,
                    str(row.get("kind", "")),
                )
            )
    return questions


def corpus_key(corpus_dir: Path) -> str:
    """A short hash of the corpus content: file names and bytes."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def score(question: Question, result: Result, seconds: float) -> Outcome:
    """One question's outcome; answer metrics come from the top answer only."""
    top = result.answers[0] if result.answers else None
    base = Outcome(
        answerable=question.answerable,
        no_answer=result.no_answer,
        seconds=seconds,
        score=top.score if top else None,
        kind=question.kind,
    )
    if not question.answerable or top is None:
        return base
    citations = [(a.citation.file, a.citation.paragraph) for a in result.answers]
    return replace(
        base,
        rank=gold_rank(citations, question.sources),
        em=exact_match(top.answer, question.answers),
        f1=f1_score(top.answer, question.answers),
        sentence_hit=sentence_hit(top.sentence, question.answers),
    )


class Asker(Protocol):
    def ask(self, question: str, *, top_k: int, method: Method) -> Result: ...


class HttpAsker:
    """Asks a running service's POST /ask, as any client would: the numbers then include the
    HTTP layer and whatever the deployment runs."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") + "/ask"
        self.timeout = timeout

    def ask(self, question: str, *, top_k: int, method: Method = "hybrid") -> Result:
        body = json.dumps({"question": question, "top_k": top_k}).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as error:
            # A 429 from the rate limit is the likely one: say so rather than a traceback.
            detail = error.read().decode("utf-8", "replace")[:300]
            raise SystemExit(f"{self.url} answered {error.code}: {detail}") from error
        except urllib.error.URLError as error:
            raise SystemExit(f"cannot reach {self.url}: {error.reason}") from error
        answers = [
            Answer(
                answer=a["answer"],
                sentence=a["sentence"],
                score=a["score"],
                citation=Citation(
                    a["citation"]["file"],
                    a["citation"]["paragraph"],
                    a["citation"]["start"],
                    a["citation"]["end"],
                ),
                passage=a["passage"],
            )
            for a in data["answers"]
        ]
        return Result(data["question"], bool(data["no_answer"]), answers)


def run(
    reader: Asker,
    questions: Sequence[Question],
    *,
    method: Method,
    progress: bool = True,
    top_k: int = CUTOFF,
) -> Summary:
    """Ask every question once (top_k=10 by default); all rank metrics come from that one
    ranking, so with a smaller top_k, MRR@10 counts only the ranks asked for."""
    return summarize(
        method, ask_all(reader, questions, method=method, progress=progress, top_k=top_k)
    )


def ask_all(
    reader: Asker,
    questions: Sequence[Question],
    *,
    method: Method,
    progress: bool = True,
    top_k: int = CUTOFF,
    label: str | None = None,
) -> list[Outcome]:
    outcomes = []
    desc = label or method
    for q in tqdm(questions, desc=desc, disable=not progress, file=sys.stderr, unit="q"):
        began = time.perf_counter()
        result = reader.ask(q.question, top_k=top_k, method=method)
        outcomes.append(score(q, result, time.perf_counter() - began))
    return outcomes


# --- the eval command (its arguments are in app/__main__.py) ----------------------------------


def cached_index_dir(corpus_dir: Path, cache_dir: Path, model: str) -> Path:
    """One index per corpus content and model: an index built with another backend's vectors
    (int8) would otherwise be rebuilt in place, and answer differently."""
    return cache_dir / f"{corpus_key(corpus_dir)}-{re.sub(r'[^A-Za-z0-9]+', '-', model).strip('-')}"


def load_index(corpus_dir: Path, cache_dir: Path, embedder: Embedder) -> store.Index:
    """Build or reuse (by corpus content hash) an index of the corpus in the cache."""
    from app.archive.ingest import build_index

    index_dir = cached_index_dir(corpus_dir, cache_dir, embedder.name)
    report = build_index(corpus_dir, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    logger.info("index %s: %d files, %d chunks", index_dir, report.files, report.chunks)
    return store.load(index_dir)


def load_embedder() -> Embedder:
    """The embedder the service is configured with (backend included), as /ask would use."""
    from app.archive.embed import load_embedder as configured
    from app.config import get_settings

    return configured(get_settings())


class RememberingEmbedder:
    """The model, remembering each question's vector: the baselines then skip re-embedding
    questions the first run embedded (same vectors, so their p50/p95 leave that step out)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name, self.dim = embedder.name, embedder.dim
        self.seen: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if len(texts) != 1:
            return self.embedder.encode(texts, progress=progress)
        if texts[0] not in self.seen:
            self.seen[texts[0]] = self.embedder.encode(texts)[0]
        return self.seen[texts[0]][None, :]


def load_reader(corpus_dir: Path, cache_dir: Path) -> Reader:
    """A reader exactly as the service builds one, over the cached index of the corpus."""
    from app.config import get_settings

    embedder = RememberingEmbedder(load_embedder())
    index = load_index(corpus_dir, cache_dir, embedder)
    settings = get_settings()
    models = load_models(compiled_dir=settings.trees_dir)
    span_reader = neural_spans.load(settings)
    return Reader(index, embedder, Retriever(index), models=models, span_reader=span_reader)


def evaluate(args: argparse.Namespace) -> int:
    if not 1 <= args.top_k <= CUTOFF:
        raise SystemExit(f"--top-k must be between 1 and {CUTOFF}")
    if args.url and args.baselines:
        raise SystemExit("--baselines run in process on the same index; leave out --url")
    corpus_dir = (args.corpus or args.dataset_dir / "corpus").resolve()
    questions_file = args.questions or args.dataset_dir / "questions.jsonl"
    names = {p.name for p in corpus_files(corpus_dir)}
    if feedback_eval.is_feedback(questions_file):  # a GET /feedback export
        questions, known_bad = feedback_eval.question_set(questions_file, names)
    else:
        questions, known_bad = load_questions(questions_file, names), []
    questions = questions[: args.limit]
    reader: Asker = HttpAsker(args.url) if args.url else load_reader(corpus_dir, args.cache_dir)
    if args.database_url and not args.url:  # the archive put in and read from the database
        from app.live_database import database_reader

        reader = database_reader(corpus_dir, args.database_url, reader)  # type: ignore[arg-type]
    runs: list[tuple[str, Asker, Method]] = [("hybrid", reader, "hybrid")]
    if args.baselines:
        runs += [(m, reader, m) for m in BASELINES]
        if isinstance(reader, Reader) and reader.span_reader is not None:
            runs.append(("trees", trees_twin(reader), "hybrid"))
    outcomes = {
        label: ask_all(
            asker, questions, method=m, progress=not args.no_progress, top_k=args.top_k, label=label
        )
        for label, asker, m in runs
    }
    summaries = [summarize(label, found) for label, found in outcomes.items()]
    title = f"{questions_file.name} over {corpus_dir.name}"
    print(report.as_json(summaries) if args.json else report.table(summaries))
    if not args.json:
        print(report.details(outcomes["hybrid"]))
    if known_bad:
        bad = feedback_eval.known_bad(reader, known_bad, top_k=args.top_k)
        print(feedback_eval.report(bad), file=sys.stderr if args.json else sys.stdout)
    if args.save_json:
        args.save_json.parent.mkdir(parents=True, exist_ok=True)
        args.save_json.write_text(report.as_json(summaries) + "\n", encoding="utf-8")
    if args.plot:
        report.plot_recall(summaries, args.plot, title)
    if args.reliability_plot:
        trust.plot(report.reliability(outcomes["hybrid"]), args.reliability_plot, title)
    return 0


def trees_twin(reader: Reader) -> Reader:
    """The same reader over the same index with the trees cutting the short answer."""
    return Reader(
        reader.index,
        reader.embedder,
        reader.retriever,
        reader.tuning,
        reader.models,
        reader.lexicon,
        reader.corrections,
    )
