"""Run the benchmarks and write results.json, results.md and the latency-vs-size plot.

    python -m bench.run                       # everything, on SQuAD (make bench)
    python -m bench.run --only http floors    # some sections; the others keep their last run
    python -m bench.run --quick --out /tmp/b  # a small, fast run (what the test suite checks)

Each section is stored with the command that produced it, when it ran and the machine's load
then: the machine is shared, so a number is only as good as the quiet it ran in.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from app.config import Settings
from bench import floors, http_load, ingest, postgres_scale, quality, report, scale
from bench.common import CACHE, ROOT, SQUAD, ensure_index, machine, questions

SECTIONS = ("floors", "http", "ingest", "quality", "scale")


@dataclass(frozen=True)
class Plan:
    """How big each section runs: the full benchmark or the quick check."""

    corpus: Path
    cache: Path
    questions: int
    levels: tuple[int, ...]
    seconds: float
    embed_texts: int
    quality_questions: int
    sizes: tuple[int, ...]


FULL = Plan(SQUAD / "corpus", CACHE, 300, (1, 4, 16, 64), 15, 500, 2000, (100_000, 1_000_000))


def quick_plan(cache: Path) -> Plan:
    return Plan(ROOT / "seeds", cache, 20, (1, 4), 1, 32, 0, (5_000,))


def server_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    # Load from one address is the point here, so the per-client rate limit is off.
    env["NEWSROOM_RATE_LIMIT_PER_MINUTE"] = "0"
    return env | overrides


def run_section(name: str, plan: Plan, index_dir: Path | None = None) -> dict:
    settings = Settings()
    # One index per backend: an index answers only queries embedded the way it was built.
    corpus_name = "squad" if plan.corpus.parent == SQUAD else "quick"
    index_dir = index_dir or plan.cache / f"{corpus_name}-{settings.backend}"
    build_s = ensure_index(plan.corpus, index_dir, server_env())
    asked = questions(SQUAD / "test.jsonl", plan.questions)
    if name == "floors":
        return floors.run(index_dir, asked, settings) | {"index_build_s": round(build_s, 1)}
    if name == "http":
        return http_load.run(
            index_dir, asked, levels=list(plan.levels), seconds=plan.seconds, env=server_env()
        )
    if name == "ingest":
        texts = ingest.chunk_texts(plan.corpus, plan.embed_texts)
        return {
            "embed_texts": len(texts),
            "embed_texts_per_s": ingest.embed_throughput(texts, settings),
            "build": ingest.full_build(plan.corpus, plan.cache / "ingest", server_env()),
        }
    if name == "quality":
        if not plan.quality_questions:
            return {"skipped": "quick mode"}
        dirs = {
            variant: plan.cache / f"squad-{backend}"
            for variant, backend in (("fp32", "onnx"), ("int8", "onnx-int8"))
        }
        for variant, backend in (("fp32", "onnx"), ("int8", "onnx-int8")):
            ensure_index(plan.corpus, dirs[variant], server_env(NEWSROOM_BACKEND=backend))
        asked_rows = quality.load_questions(SQUAD / "test.jsonl", plan.quality_questions)
        return quality.run(dirs, asked_rows, settings)
    real = _real_vectors(index_dir)
    queries = floors.SentenceTransformerEmbedder(settings.model_path).encode(asked)
    result: dict = {"sizes": scale.run(real, queries, list(plan.sizes), plan.cache / "scale")}
    if not plan.quality_questions:  # quick mode: no database server in the bench test
        return result | {"served": {"skipped": "quick mode"}}
    served = postgres_scale.run(
        plan.corpus, index_dir, plan.cache, sizes=list(plan.sizes), questions=asked,
        queries=queries[:100], env=server_env(), seconds=plan.seconds,
    )  # fmt: skip
    return result | {"served": served}


def _real_vectors(index_dir: Path):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.load((index_dir / "current" / "chunks.npy").resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small and fast: for the tests")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="where results go")
    parser.add_argument("--index-dir", type=Path, help="an index of the corpus, built already")
    parser.add_argument("--corpus", type=Path, help="another corpus than SQuAD's (full run)")
    parser.add_argument("--sizes", type=int, nargs="+", help="scale: chunks (100000 1000000)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    plan = quick_plan(Path(tempfile.mkdtemp(prefix="bench-"))) if args.quick else FULL
    plan = replace(plan, corpus=args.corpus or plan.corpus, sizes=tuple(args.sizes or plan.sizes))
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    sections = results.setdefault("sections", {})
    command = "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    for name in args.only:
        began, host = time.time(), machine()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        result = run_section(name, plan, args.index_dir)
        sections[name] = {
            "command": command.strip(),
            "ran_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
            "seconds": round(time.time() - began, 1),
            "machine": host,
            "backend": Settings().backend,  # NEWSROOM_BACKEND, which the command line omits
            "result": result,
        }
        results_path.write_text(json.dumps(results, indent=1) + "\n")
    # The full run's plot goes where docs/performance.md shows it.
    default_out = out.resolve() == (ROOT / "bench").resolve()
    plot = ROOT / "docs" / "latency_vs_size.png" if default_out else out / "latency_vs_size.png"
    report.write(results, out / "results.md", plot)
    print(f"wrote {results_path}, {out / 'results.md'}, {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
