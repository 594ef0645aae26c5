"""Real servers in subprocesses, and the archive fixtures the reliability tests share."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from app.archive import store
from app.archive.embed import Embedder
from app.archive.ingest import build_index, read_corpus
from app.archive.store import Index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SQUAD = ROOT.parent / "shared" / "eval" / "squad-v1.1-dev" / "corpus"
TOKEN = "test-token-5f0c2a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


_built: dict[str, Index] = {}


def make_archive(base: Path, embedder: Embedder) -> Path:
    """A copy of the seeds and its index under `base`; returns the index folder.

    The seeds are embedded once per session; later archives reuse those vectors, re-pointed
    at their own corpus copy (the manifest names the corpus an index belongs to).
    """
    corpus = base / "corpus"
    shutil.copytree(SEEDS, corpus)
    index_dir = base / "index"
    if embedder.name not in _built:
        build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
        _built[embedder.name] = store.load(index_dir)
        return index_dir
    seeds = _built[embedder.name]
    manifest = replace(seeds.manifest, corpus_dir=str(corpus.resolve()))
    store.save(Index(manifest, list(seeds.files.values())), index_dir)
    return index_dir


def agrees(index_dir: Path) -> bool:
    """The index holds exactly the corpus folder's articles, each at its current text."""
    manifest = store.read_manifest(index_dir)
    articles, _ = read_corpus(Path(manifest.corpus_dir))
    indexed = {name: info["sha256"] for name, info in manifest.files.items()}
    return indexed == {a.file: a.sha256 for a in articles}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(index_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(ROOT),
        NEWSROOM_INDEX_DIR=str(index_dir),
        API_TOKEN=TOKEN,
        NEWSROOM_RATE_LIMIT_PER_MINUTE="0",
    )
    env.update(extra)
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def client(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def stop_cleanly(self) -> bool:
        """SIGTERM, then: did it drain and shut down in order? uvicorn re-raises the signal
        once it has shut down, so the exit status is -SIGTERM (or 0), never an error code."""
        status = self.stop(signal.SIGTERM)
        log = self.log.read_text(errors="replace")
        return status in (0, -signal.SIGTERM) and "Application shutdown complete" in log


_started: list[Server] = []


def kill_leftovers() -> None:
    """Kill servers a failed test left running (a passing test stops its own)."""
    while _started:
        server = _started.pop()
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


def start_server(index_dir: Path, *, timeout: float = 180, workers: int = 0, **env: str) -> Server:
    """uvicorn with the app factory; with `workers`, `python -m app serve --workers N` (one
    port, N processes). Returns once /healthz says ok."""
    port = free_port()
    log = index_dir.parent / f"server-{port}.log"
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "60",
    ]  # fmt: skip
    if workers:
        command = [sys.executable, "-m", "app", "serve", "--index-dir", str(index_dir)]
        command += ["--port", str(port), "--workers", str(workers)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=child_env(index_dir, **env), stdout=out, stderr=out
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    _started.append(server)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.stop(signal.SIGKILL)
    raise TimeoutError(f"server not ready in {timeout}s:\n{server.log_tail()}")


def article(topic: str, fact: str) -> str:
    """A small article whose one body paragraph states `fact`."""
    return f"{topic}\n\n{fact} Reporters confirmed the details on the same day.\n"


def send_ignoring_cutoff(url: str, method: str, path: str, body: dict[str, str]) -> None:
    """A write to a server that may be killed before it answers."""
    with httpx.Client(base_url=url, timeout=120) as client, contextlib.suppress(httpx.HTTPError):
        client.request(method, path, json=body, headers=AUTH)
