"""What the benchmarks share: the SQuAD paths, questions, percentiles, a built index."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval" / "squad-v1.1-dev"
CACHE = ROOT / ".cache" / "bench"


def questions(path: Path, limit: int, *, skip: int = 0) -> list[str]:
    """Every 7th question, so all articles are asked about, not just the first few."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows[skip::7]][:limit]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {f"p{p}_ms": round(float(np.percentile(ms, p)), 2) for p in (50, 95, 99)}


def ensure_index(corpus: Path, index_dir: Path, env: dict[str, str] | None = None) -> float:
    """Build or update the index with the CLI (incremental: an up-to-date index costs a hash
    check; one built by older chunking or another model is rebuilt, not refused later by the
    server); seconds it took."""
    import time

    began = time.perf_counter()
    cli = [python(), "-m", "app", "index", str(corpus), "--index-dir", str(index_dir)]
    subprocess.run(cli, check=True, env=env, cwd=ROOT, capture_output=True)
    return time.perf_counter() - began


def python() -> str:
    return str(ROOT / ".venv" / "bin" / "python")


def machine() -> dict[str, object]:
    """What the numbers ran on, and what else was running then (the machine is shared)."""
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()
    busy = subprocess.run(
        ["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True
    ).stdout.splitlines()[1:6]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
        "busiest_processes_at_start": [" ".join(b.split()[:4])[:120] for b in busy],
    }
