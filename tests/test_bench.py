"""`make bench ARGS=--quick` runs end to end and writes its files (the numbers are not
checked here: benchmarks are scripts, not timed tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_benchmark_writes_results_a_report_and_a_plot(tmp_path: Path, seeds_index):
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--quick",
        "--out",
        str(tmp_path),
        "--index-dir",
        str(seeds_index),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["sections"]) == {"floors", "http", "ingest", "quality", "scale"}
    assert results["sections"]["http"]["result"]["runs"][0]["requests"] > 0
    assert results["sections"]["floors"]["result"]["floor_p50_ms"] > 0
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark results")
    assert (tmp_path / "latency_vs_size.png").stat().st_size > 1000
