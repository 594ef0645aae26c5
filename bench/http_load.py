"""/ask over HTTP: a real server in its own process, driven by wrk from another process.

Starts `python -m app serve` on a free 127.0.0.1 port, times process start -> healthy
/healthz, then runs wrk (Debian's package) for a bounded time at each concurrency, rotating
through real SQuAD questions, and reads p50/p95/p99 and requests per second from wrk.
"""

from __future__ import annotations

import json
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
    'RESULT {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "non_2xx": %%d, ' ..
    '"p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
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
    process = subprocess.Popen(
        cli, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while not healthy(url):
            if process.poll() is not None or time.perf_counter() - began > timeout:
                raise RuntimeError(f"server did not become healthy: exit {process.poll()}")
            time.sleep(0.02)
        yield {"url": url, "pid": process.pid, "startup_s": round(time.perf_counter() - began, 2)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def wrk(url: str, questions: list[str], *, connections: int, seconds: float) -> dict:
    """One wrk run: requests/s and latency percentiles in milliseconds."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    bodies = ", ".join(f"[==[{json.dumps({'question': q})}]==]" for q in questions)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % bodies)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    raw = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    return {
        "concurrency": connections,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["socket_errors"] + raw["non_2xx"],
    }


def run(
    index_dir: Path, questions: list[str], *, levels: list[int], seconds: float, env: dict
) -> dict:
    """Startup time, then a warm-up and one wrk run per concurrency level."""
    with server(index_dir, env) as live:
        wrk(live["url"], questions, connections=4, seconds=min(3, seconds))  # warm-up
        runs = [wrk(live["url"], questions, connections=c, seconds=seconds) for c in levels]
        return {"startup_s": live["startup_s"], "server_rss_mb": rss_mb(live["pid"]), "runs": runs}
