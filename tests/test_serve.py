"""Several server processes on one port (app/serve.py): one archive, one set of metrics."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest

from app import publish
from app.archive import store
from app.archive.embed import Embedder
from app.errors import IndexMismatch
from app.live import Archive
from app.reader import lexical_cache
from tests.integrations_support import SLACK_SECRET, SLACK_TOKEN, fake_slack, slack_headers
from tests.servers import (
    AUTH,
    ROOT,
    article,
    child_env,
    free_port,
    kill_leftovers,
    make_archive,
    start_server,
)

FACT = article("Lake Orrin", "The Lake Orrin ferry carried 4,180 passengers in its first week.")
QUESTION = "How many passengers did the Lake Orrin ferry carry in its first week?"


@pytest.fixture
def index_dir(tmp_path: Path, embedder: Embedder) -> Iterator[Path]:
    yield make_archive(tmp_path, embedder)
    kill_leftovers()


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]


def top_file(url: str, question: str) -> str:
    """Asked on a new connection each time, so the kernel may hand it to any worker."""
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.get("/ask", params={"q": question})
    assert response.status_code == 200, response.text
    return str(response.json()["answers"][0]["citation"]["file"])


def test_every_worker_answers_from_the_latest_write(index_dir: Path) -> None:
    server = start_server(index_dir, workers=2)
    assert len(workers_of(server.process.pid)) == 2
    with server.client() as client:
        body = {"file": "orrin.txt", "text": FACT}
        assert client.post("/documents", json=body, headers=AUTH).status_code == 201
    # 24 new connections: all on the worker that wrote has odds of 2**-24.
    assert {top_file(server.url, QUESTION) for _ in range(24)} == {"orrin.txt"}
    with server.client() as client:
        assert client.delete("/documents/orrin.txt", headers=AUTH).status_code == 200
    assert "orrin.txt" not in {top_file(server.url, QUESTION) for _ in range(24)}

    # Counts are summed over the workers, whichever one answers /metrics.
    with server.client() as client:
        text = client.get("/metrics").text
    asked = next(ln for ln in text.splitlines() if 'route="/ask",status="200"' in ln)
    assert float(asked.rsplit(" ", 1)[1]) == 48
    assert server.stop_cleanly()


def test_a_crashed_worker_is_replaced_and_all_stop_with_the_supervisor(index_dir: Path) -> None:
    server = start_server(index_dir, workers=2)
    first, second = workers_of(server.process.pid)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = workers_of(server.process.pid)
        if len(now) == 2 and first not in now:
            break
        time.sleep(0.2)
    assert second in now and len(now) == 2
    # The newcomer starts serving too: the port keeps answering throughout.
    assert top_file(server.url, "Who pays Kosovo?")

    # The supervisor killed outright: its workers stop too, and free the port.
    server.stop(signal.SIGKILL)
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{pid}").exists() for pid in now) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in now)


def test_a_busy_port_or_a_worker_that_cannot_start_is_a_clear_error(index_dir: Path) -> None:
    command = [sys.executable, "-m", "app", "serve", "--index-dir", str(index_dir)]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [*command, "--port", str(port), "--workers", "2"],
            cwd=ROOT, env=child_env(index_dir), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert busy.returncode == 1 and "cannot listen on 127.0.0.1" in busy.stderr

    # An index from older chunking: every worker refuses it, and the whole server exits.
    manifest = index_dir / "current" / "manifest.json"
    manifest.write_text(
        manifest.read_text().replace('"chunking_version": "', '"chunking_version": "0')
    )
    refused = subprocess.run(
        [*command, "--port", str(free_port()), "--workers", "2"],
        cwd=ROOT, env=child_env(index_dir), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "Rebuild it" in refused.stderr + refused.stdout


def test_an_archive_catches_up_with_a_write_made_by_another_process(
    index_dir: Path, embedder: Embedder
) -> None:
    mine, theirs = Archive(index_dir, embedder), Archive(index_dir, embedder)
    mine.load()
    theirs.load()
    publish.publish(theirs, publish.article_from("orrin.txt", FACT), replace=False)
    assert "orrin.txt" in mine.reader.index.files
    answer = mine.reader.ask(QUESTION, top_k=1).answers[0]
    assert answer.citation.file == "orrin.txt" and "4,180" in answer.answer


def test_writers_take_turns_across_open_files(index_dir: Path) -> None:
    """flock: a second holder (another process, or another open of the file) waits."""
    held, order = threading.Event(), []

    def first() -> None:
        with store.writing(index_dir):
            held.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait()
    with store.writing(index_dir):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def test_cached_lexical_parts_answer_exactly_as_freshly_built_ones(
    index_dir: Path, embedder: Embedder
) -> None:
    version = store.current_version(index_dir)
    assert version is not None
    cache = lexical_cache.parts_path(index_dir, version)
    assert not cache.exists()
    fresh = Archive(index_dir, embedder)
    fresh.load()  # builds the parts, and saves them beside the version
    assert (cache / "lexicon.npz").is_file() and (cache / "bm25").is_dir()
    cached = Archive(index_dir, embedder)
    cached.load()
    for question in (QUESTION, "Who pays Kosovo?", "What do critics call the deal?"):
        assert cached.reader.ask(question, top_k=3) == fresh.reader.ask(question, top_k=3)

    (cache / "lexicon.npz").write_bytes(b"damaged")  # rebuilt, never fatal
    again = Archive(index_dir, embedder)
    again.load()
    assert again.reader.ask(QUESTION, top_k=3) == fresh.reader.ask(QUESTION, top_k=3)


class _Planted:
    """What a pickle in a copied snapshot could do: run code while it loads."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_loading_saved_lexical_parts_never_runs_code_from_the_folder(
    index_dir: Path, embedder: Embedder, tmp_path: Path
) -> None:
    version = store.current_version(index_dir)
    assert version is not None
    lexical_cache.prepare(index_dir)
    cache = lexical_cache.parts_path(index_dir, version)
    marker = tmp_path / "ran"
    planted = np.empty(1, dtype=object)
    planted[0] = _Planted(marker)
    with open(cache / "lexicon.npz", "wb") as handle:
        np.savez(handle, sentence_labels=planted)  # an object array is stored as a pickle
    archive = Archive(index_dir, embedder)
    archive.load()
    assert not marker.exists()
    assert archive.reader.ask(QUESTION, top_k=1).answers


def test_a_slack_event_retried_to_any_worker_is_answered_once(index_dir: Path) -> None:
    with fake_slack() as slack:
        server = start_server(
            index_dir,
            workers=2,
            SLACK_SIGNING_SECRET=SLACK_SECRET,
            SLACK_BOT_TOKEN=SLACK_TOKEN,
            SLACK_API_URL=f"{slack.url}/api/",
        )
        body = json.dumps(
            {
                "type": "event_callback",
                "event_id": "EvRetried",
                "event": {
                    "type": "app_mention",
                    "user": "U1",
                    "channel": "C1",
                    "ts": "1700000000.000100",
                    "text": "<@UBOT> Who pays Kosovo?",
                },
            }  # fmt: skip
        ).encode()
        for attempt in range(12):  # each on a new connection: both workers get some
            headers = {**slack_headers(body), "Content-Type": "application/json"}
            if attempt:
                headers["X-Slack-Retry-Num"] = str(attempt)
            response = httpx.post(f"{server.url}/integrations/slack/events", content=body,
                                  headers=headers)  # fmt: skip
            assert response.status_code == 200
        slack.wait(2, timeout=5)  # a second reply, if one were coming
        assert len(slack.to("/api/chat.postMessage")) == 1
        assert server.stop_cleanly()


def test_a_version_built_for_another_model_is_not_served_over_the_loaded_one(
    index_dir: Path, embedder: Embedder
) -> None:
    serving = Archive(index_dir, embedder)
    serving.load()
    before = serving.reader
    other = store.load(index_dir)
    other.manifest = replace(other.manifest, model="another-model")
    store.save(other, index_dir)
    assert serving.reader is before  # logged, not raised: the loaded version still answers
    assert serving.reader.ask("Who pays Kosovo?", top_k=1).answers
    with pytest.raises(IndexMismatch):  # a new process, with nothing loaded, refuses it
        Archive(index_dir, embedder).load()
