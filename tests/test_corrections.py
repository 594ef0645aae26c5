"""Corrections and withdrawals: the history kept, answers marked, the old wording never quoted
again, tombstones answering 410; all of it surviving a restart and a kill -9."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import publish
from app.archive import revisions, store
from app.archive.corpus import parse_article
from app.archive.embed import Embedder
from app.archive.metadata import human_date
from app.config import Settings
from app.files import write_text_atomically
from app.integrations.messages import markdown_message
from app.main import create_app
from tests.servers import (
    AUTH,
    SQUAD,
    TOKEN,
    agrees,
    make_archive,
    send_ignoring_cutoff,
    start_server,
)

TEXT = """Reservoir report

The Kessel reservoir stood at 41 percent of capacity on Monday, the water board said.

Engineers from the board inspected the northern dam wall and found no cracks after the storm.
"""
FIXED = TEXT.replace("41 percent", "44 percent")
LEVEL = "What level did the Kessel reservoir stand at on Monday?"
DAM = "What did engineers find at the northern dam wall?"
NOTE = "An earlier version gave the level as 41 percent."


def client_for(index_dir: Path, embedder: Embedder) -> TestClient:
    settings = Settings(
        index_dir=index_dir, api_token=TOKEN, rate_limit_per_minute=0, max_correction_chars=200
    )
    return TestClient(create_app(settings, embedder=embedder))


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    return make_archive(tmp_path_factory.mktemp("corrections"), embedder)


@pytest.fixture(scope="module")
def corrected(index_dir: Path, embedder: Embedder) -> Iterator[TestClient]:
    with client_for(index_dir, embedder) as client:
        body = {"file": "kessel.txt", "text": TEXT}
        assert client.post("/documents", json=body, headers=AUTH).status_code == 201
        fix = {"text": FIXED, "correction": NOTE}
        assert client.put("/documents/kessel.txt", json=fix, headers=AUTH).status_code == 200
        yield client


def top(client: TestClient, question: str) -> dict:
    answers = client.post("/ask", json={"question": question}).json()["answers"]
    return next(a for a in answers if a["citation"]["file"] == "kessel.txt")


def test_an_answer_from_a_corrected_paragraph_says_so(corrected: TestClient) -> None:
    answer = top(corrected, LEVEL)
    assert "44 percent" in answer["sentence"]
    assert answer["corrected"]["note"] == NOTE
    assert answer["corrected"]["date"] == answer["corrected"]["time"][:10]


def test_an_unchanged_paragraph_is_not_marked(corrected: TestClient) -> None:
    answer = top(corrected, DAM)
    assert "no cracks" in answer["sentence"] and answer["corrected"] is None


def test_the_old_wording_is_never_quoted_again(corrected: TestClient) -> None:
    body = corrected.post("/ask", json={"question": "Kessel reservoir 41 percent", "top_k": 10})
    quoted = [a["answer"] + a["sentence"] + a["passage"] for a in body.json()["answers"]]
    assert quoted and not any("41 percent" in q for q in quoted)


def test_revisions_are_listed_newest_first(corrected: TestClient) -> None:
    listed = corrected.get("/documents/kessel.txt/revisions").json()
    assert [r["action"] for r in listed] == ["corrected", "added"]
    assert listed[0]["note"] == NOTE and listed[0]["changed_paragraphs"] == [2]
    assert listed[0]["sha256"] == parse_article("kessel.txt", FIXED).sha256
    assert listed[1]["sha256"] == parse_article("kessel.txt", TEXT).sha256


def test_the_document_view_shows_the_correction(corrected: TestClient) -> None:
    page = corrected.get("/documents/kessel.txt").text
    assert "Corrected on " in page and "An earlier version gave the level as 41 percent." in page


def test_a_long_note_is_refused_and_nothing_changes(corrected: TestClient) -> None:
    fix = {"text": FIXED.replace("44", "45"), "correction": "x" * 201}
    response = corrected.put("/documents/kessel.txt", json=fix, headers=AUTH)
    assert response.status_code == 422 and "limited to 200" in response.json()["error"]
    assert "44 percent" in top(corrected, LEVEL)["sentence"]


def test_the_form_and_chat_replies_show_the_correction(corrected: TestClient) -> None:
    page = corrected.get("/", params={"q": LEVEL}).text
    assert f"Corrected {human_date(revisions.now())}: {NOTE}" in page
    reader = corrected.app.state.archive.reader  # type: ignore[attr-defined]
    reply = markdown_message(reader.ask(LEVEL), "https://news.example")
    assert f"*Corrected {human_date(revisions.now())}: {NOTE}*" in reply


def test_a_withdrawn_article_is_gone_with_a_tombstone_that_survives_restart(
    corrected: TestClient, index_dir: Path, embedder: Embedder
) -> None:
    response = corrected.delete("/documents/kessel.txt", params={"note": "Legal"}, headers=AUTH)
    assert response.status_code == 200
    for client in (corrected, client_for(index_dir, embedder).__enter__()):
        page = client.get("/documents/kessel.txt")
        assert page.status_code == 410
        assert "was withdrawn on " in page.text and "Legal" in page.text
        answers = client.post("/ask", json={"question": LEVEL, "top_k": 10}).json()["answers"]
        assert all(a["citation"]["file"] != "kessel.txt" for a in answers)
        listed = client.get("/documents/kessel.txt/revisions").json()
        assert [r["action"] for r in listed] == ["withdrawn", "corrected", "added"]
    assert client.get("/documents/never.txt/revisions").status_code == 404


def test_corrections_survive_a_restart(tmp_path: Path, embedder: Embedder) -> None:
    index_dir = make_archive(tmp_path, embedder)
    with client_for(index_dir, embedder) as client:
        client.post("/documents", json={"file": "kessel.txt", "text": TEXT}, headers=AUTH)
        fix = {"text": FIXED, "correction": NOTE}
        client.put("/documents/kessel.txt", json=fix, headers=AUTH)
    with client_for(index_dir, embedder) as again:
        assert top(again, LEVEL)["corrected"]["note"] == NOTE


def test_a_crash_before_the_corpus_changed_drops_the_pending_revision(
    tmp_path: Path, embedder: Embedder
) -> None:
    index_dir = make_archive(tmp_path, embedder)
    name = sorted(store.read_manifest(index_dir).files)[0]
    sha = parse_article(name, FIXED).sha256
    revisions.begin(index_dir, name, revisions.Revision("corrected", revisions.now(), sha, NOTE))
    publish.reconcile(index_dir, embedder)
    assert revisions.history(index_dir, name) == []


def test_a_crash_after_the_corpus_changed_completes_the_correction(
    tmp_path: Path, embedder: Embedder
) -> None:
    index_dir = make_archive(tmp_path, embedder)
    with client_for(index_dir, embedder) as client:
        client.post("/documents", json={"file": "kessel.txt", "text": TEXT}, headers=AUTH)
    corpus = Path(store.read_manifest(index_dir).corpus_dir)
    sha = parse_article("kessel.txt", FIXED).sha256
    mark = revisions.Correction(revisions.now(), NOTE)
    pending = revisions.Revision("corrected", mark.time, sha, NOTE, {2: mark})
    revisions.begin(index_dir, "kessel.txt", pending)
    write_text_atomically(corpus / "kessel.txt", FIXED)  # killed here, before the index
    with client_for(index_dir, embedder) as client:
        assert agrees(index_dir)
        assert [r.pending for r in revisions.history(index_dir, "kessel.txt")] == [False, False]
        assert top(client, LEVEL)["corrected"]["note"] == NOTE


def test_kill_9_during_corrections_leaves_corpus_history_and_index_agreeing(
    tmp_path: Path, embedder: Embedder
) -> None:
    index_dir = make_archive(tmp_path, embedder)
    corpus = Path(store.read_manifest(index_dir).corpus_dir)
    big = (SQUAD / "Construction.txt").read_text(encoding="utf-8")
    server = start_server(index_dir)
    with server.client() as client:
        body = {"file": "Construction.txt", "text": big}
        assert client.post("/documents", json=body, headers=AUTH).status_code == 201
    for round_, delay in enumerate((0.05, 0.4, 1.5)):
        text = big.replace("construction", f"building work {round_}", 3)

        fix = {"text": text, "correction": f"round {round_}"}
        path = "/documents/Construction.txt"
        writing = threading.Thread(target=send_ignoring_cutoff, args=(server.url, "PUT", path, fix))
        writing.start()
        time.sleep(delay)
        server.stop(signal.SIGKILL)
        writing.join()
        server = start_server(index_dir)
        assert agrees(index_dir), f"killed {delay}s in"
        history = revisions.history(index_dir, "Construction.txt")
        assert not any(r.pending for r in history)
        on_disk = parse_article("Construction.txt", (corpus / "Construction.txt").read_text())
        assert history[-1].sha256 == on_disk.sha256, "the history ends at the corpus's text"
    assert server.stop_cleanly()
