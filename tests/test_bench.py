"""`make bench ARGS=--quick` runs end to end and writes its files (the numbers are not
checked here: benchmarks are scripts, not timed tests)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.config import Settings
from app.serve import worker_count
from bench import http_load, processes, report, soak

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


class _Stalling(BaseHTTPRequestHandler):
    """POST /ask: every 4th request stalls past the client's timeout, every 5th fails."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the service's clients use it
    count = itertools.count(1)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n = next(self.count)
        if n % 4 == 0:
            time.sleep(1.0)
        status = 500 if n % 5 == 0 else 200
        body = b'{"answers": []}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client gave up on a stalled answer: the write fails, as it should


@pytest.fixture
def stalling_url() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Stalling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_load_run_counts_timeouts_and_errors_and_the_report_flags_it(stalling_url: str):
    run = http_load.wrk(stalling_url, ["Who?"], connections=2, seconds=2, timeout_s=0.3)
    assert run["requests"] > 0 and run["timeouts"] > 0 and run["non_2xx"] > 0
    assert run["errors"] == run["timeouts"] + run["socket_errors"] + run["non_2xx"]
    section = {"command": "test", "ran_at": "now", "seconds": 2, "result": {"runs": [run]}}
    section["machine"] = {"load_average_at_start": [0.0, 0.0, 0.0]}
    text = report.markdown({"sections": {"http": section}})
    assert f"**{run['errors']} errors** ({run['timeouts']} timeouts" in text
    assert "Some runs had errors" in text


PARENT = """
import subprocess, sys, time
hold = "import time; kept = bytearray(40 * 2**20); time.sleep(120)"
children = [subprocess.Popen([sys.executable, "-c", hold]) for _ in range(2)]
time.sleep(120)
"""


def test_a_server_s_memory_is_the_sum_over_its_process_tree() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tree = processes.memory(parent.pid)
            if len(tree) == 3 and all(m.rss_mb >= 40 for m in tree[1:]):
                break
            time.sleep(0.1)
        assert [m.pid for m in tree][0] == parent.pid and len(tree) == 3
        assert all("bytearray" in m.command for m in tree[1:])
        # The parent alone, all --pid used to read, holds none of its children's 80 MB.
        assert processes.rss_mb(parent.pid) >= tree[0].rss_mb + 80
    finally:
        for pid in processes.processes(parent.pid)[1:]:
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_the_soak_s_own_server_runs_what_serve_runs_by_default() -> None:
    settings = soak.own_server_settings(None, None)
    assert settings.backend == Settings().backend
    assert settings.workers == worker_count(Settings())
    asked = soak.own_server_settings("onnx-int8", 3)
    assert (asked.backend, asked.workers) == ("onnx-int8", 3)
