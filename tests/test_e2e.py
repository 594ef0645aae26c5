"""The real thing: `python -m app serve` in a subprocess on a free port, asked over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.__main__ import main as cli
from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(seeds_index: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "app",
        "serve",
        "--index-dir",
        str(seeds_index),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("server did not become healthy")


def test_a_question_over_http_gets_a_cited_verbatim_answer(server, settings):
    response = httpx.post(f"{server}/ask", json={"question": "How much did Denmark pay Kosovo?"})
    assert response.status_code == 200
    top = response.json()["answers"][0]
    c = top["citation"]
    with open(settings.corpus_dir / c["file"], encoding="utf-8", newline="") as handle:
        assert handle.read()[c["start"] : c["end"]] == top["answer"]
    assert "million" in top["answer"]
    page = httpx.get(server + c["url"].split("#")[0])
    assert page.status_code == 200 and f'id="p{c["paragraph"]}"' in page.text


def test_the_served_form_answers_and_errors_are_json(server):
    assert (
        "<mark>"
        in httpx.get(server, params={"q": "Which outlet did the spokesperson talk to?"}).text
    )
    bad = httpx.post(f"{server}/ask", json={"question": ""})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/json")


def test_eval_over_http_scores_what_the_running_server_answers(server, capsys):
    """`python -m app eval --url` asks the live /ask: every seeds question's gold paragraph
    comes first, as in process, and the two out-of-archive questions get no_answer."""
    shared = ROOT.parent / "shared"
    args = [str(shared / "seeds"), "--corpus", str(shared / "seeds")]
    args += ["--questions", str(shared / "eval" / "seeds" / "questions.jsonl")]
    assert cli(["eval", *args, "--url", server, "--top-k", "5", "--json", "--no-progress"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["questions"], row["answerable"]) == (10, 8)
    # The span reader: 7 of 8 first (docs/quality.md#the-span-reader), both refusals.
    assert row["r1"] >= 0.875 and row["no_answer_correct"] == 1.0


def test_eval_refuses_baselines_over_http(server):
    with pytest.raises(SystemExit, match="--baselines"):
        cli(["eval", str(ROOT / "seeds"), "--url", server, "--baselines"])
