import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )


def test_ask_json_prints_exactly_the_api_body(seeds_index: Path, client):
    question = "How much did Denmark pay Kosovo?"
    done = _run("ask", question, "--index-dir", str(seeds_index), "--top-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == client.post("/ask", json={"question": question}).json()


def test_ask_prints_answers_with_citations(seeds_index: Path):
    done = _run("ask", "Which outlet did a spokesperson talk to?", "--index-dir", str(seeds_index))
    assert done.returncode == 0, done.stderr
    assert "000_383fbfdafa3fa088.txt ¶24" in done.stdout


def test_index_prints_a_summary_and_skips_bad_files_and_copies(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Headline\n\nKosovo agreed to host fifty migrants next year.\n")
    (corpus / "a_copy.txt").write_text((corpus / "a.txt").read_text())
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    done = _run("index", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert done.returncode == 0, done.stderr
    assert "1 files, 2 paragraphs, 1 chunks" in done.stdout
    assert "skipped bad.txt: not UTF-8" in done.stdout
    assert "  copy a_copy.txt = a.txt" in done.stdout
    again = _run("index", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert "already up to date" in again.stdout


def test_ask_without_an_index_explains_how_to_build_one(tmp_path: Path):
    done = _run("ask", "anything?", "--index-dir", str(tmp_path / "none"))
    assert done.returncode == 1
    assert "python -m app index" in done.stderr
