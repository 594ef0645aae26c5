"""/ask over HTTP: a real server in its own process, driven by wrk from another process.

Starts `python -m app serve` on a free 127.0.0.1 port, times process start -> healthy
/healthz, then runs wrk (Debian's package) for a bounded time at each concurrency, rotating
through real SQuAD questions, and reads p50/p95/p99 and requests per second from wrk.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, python
from bench.processes import cpu_seconds, processes, rss_mb

LUA = """
local bodies = { %s }
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/ask", {["Content-Type"] = "application/json"},
                    bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "timeouts": %%d, ' ..
    '"non_2xx": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def server(index_dir: Path, env: dict[str, str], timeout: float = 120) -> Iterator[dict]:
    """A running server; yields its url, pid and seconds from process start to healthy."""
    port = free_port()
    cli = [python(), "-m", "app", "serve", "--index-dir", str(index_dir), "--port", str(port)]
    began = time.perf_counter()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", prefix="bench-server-")  # noqa: SIM115
    process = subprocess.Popen(cli, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while not healthy(url):
            if process.poll() is not None or time.perf_counter() - began > timeout:
                log.seek(0)
                raise RuntimeError(f"server did not become healthy: {log.read()[-2000:]}")
            time.sleep(0.02)
        yield {"url": url, "pid": process.pid, "startup_s": round(time.perf_counter() - began, 2)}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def wrk(
    url: str, questions: list[str], *, connections: int, seconds: float, timeout_s: float = 10
) -> dict:
    """One load run (wrk, or bench/loadgen.py where wrk is missing): requests/s and latency
    percentiles in milliseconds of the requests answered, and how many were not: timeouts,
    socket errors and error statuses are counted, and `errors` sums them."""
    suffix = ".lua" if shutil.which("wrk") else ".json"
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as script:
        if suffix == ".lua":
            bodies = ", ".join(f"[==[{json.dumps({'question': q})}]==]" for q in questions)
            script.write(LUA % bodies)
            command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
            # wrk takes whole seconds only ("0.3s" is a usage error): round up, at least 1.
            command += ["--timeout", f"{max(1, math.ceil(timeout_s))}s", "-s", script.name, url]
        else:
            json.dump(questions, script)
            command = [python(), "-m", "bench.loadgen", url, script.name]
            command += [str(connections), str(seconds), str(timeout_s)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60, cwd=ROOT
        )
    finally:
        os.unlink(script.name)
    raw = json.loads(done.stdout.split("RESULT ", 1)[1].splitlines()[0])
    return {"generator": "wrk" if suffix == ".lua" else "bench.loadgen"} | figures(raw, connections)


def figures(raw: dict, connections: int) -> dict:
    """A generator's RESULT line as the report's row."""
    failed = {k: raw.get(k, 0) for k in ("timeouts", "socket_errors", "non_2xx")}
    return {
        "concurrency": connections,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": sum(failed.values()),
        **failed,
    }


def run(
    index_dir: Path, questions: list[str], *, levels: list[int], seconds: float, env: dict
) -> dict:
    """Startup time, then a warm-up and one wrk run per concurrency level; then, for
    comparison in the same run, one worker process alone at the highest level up to 16, and the
    server with the trees' spans instead of the span reader (NEWSROOM_READER=trees)."""
    with server(index_dir, env) as live:
        runs = _levels(live, questions, levels, seconds)
        result = {
            "startup_s": live["startup_s"],
            "server_processes": len(processes(live["pid"])),
            "server_rss_mb": rss_mb(live["pid"]),
            "runs": runs,
        }
    with server(index_dir, env | {"NEWSROOM_WORKERS": "1"}) as live:
        level = max(c for c in levels if c <= 16)
        result["one_worker"] = {
            "startup_s": live["startup_s"],
            "server_rss_mb": rss_mb(live["pid"]),
            "runs": _levels(live, questions, [level], seconds),
        }
    # The span reader's cost: the same server with the trees cutting the short answer.
    if env.get("NEWSROOM_READER", "neural") != "trees":
        with server(index_dir, env | {"NEWSROOM_READER": "trees"}) as live:
            result["trees_reader"] = {"runs": _levels(live, questions, [1, level], seconds)}
    return result


def _levels(live: dict, questions: list[str], levels: list[int], seconds: float) -> list[dict]:
    wrk(live["url"], questions, connections=4, seconds=min(3, seconds))  # warm-up
    runs = []
    for c in levels:
        cpu = cpu_seconds(live["pid"])
        runs.append(wrk(live["url"], questions, connections=c, seconds=seconds))
        used_ms = 1000 * (cpu_seconds(live["pid"]) - cpu)
        runs[-1]["server_cpu_ms_per_request"] = round(used_ms / max(1, runs[-1]["requests"]), 2)
    return runs
