"""Feedback: POST /feedback, the form's buttons, the export, metrics, and the store on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import feedback_store
from app.__main__ import main as cli
from app.archive.embed import Embedder
from app.config import Settings
from app.errors import BadFeedback
from app.feedback import Cited, from_token, token
from app.feedback_eval import is_feedback, question_set
from app.main import create_app
from tests.servers import AUTH, TOKEN, make_archive, start_server
from tests.test_feedback_store import one

QUESTION = "How much did Denmark pay Kosovo?"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    return make_archive(tmp_path_factory.mktemp("feedback"), embedder)


@pytest.fixture(scope="module")
def client(index_dir: Path, embedder: Embedder) -> Iterator[TestClient]:
    settings = Settings(
        index_dir=index_dir, corpus_dir=index_dir.parent / "corpus", api_token=TOKEN,
        max_feedback_comment_chars=50,
    )  # fmt: skip
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def best(client: TestClient) -> dict:
    return client.post("/ask", json={"question": QUESTION, "top_k": 2}).json()["answers"][0]


def verdict_on(given: dict, verdict: str = "right", **changes: object) -> dict:
    c = given["citation"]
    body = {
        "verdict": verdict, "question": QUESTION, "file": c["file"], "paragraph": c["paragraph"],
        "start": c["start"], "end": c["end"], "score": given["score"],
    }  # fmt: skip
    return body | changes


def exported(client: TestClient, **params: str) -> list[dict]:
    response = client.get("/feedback", headers=AUTH, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_feedback_is_stored_with_the_cited_answer_and_index_version(
    client: TestClient, best: dict
) -> None:
    response = client.post("/feedback", json=verdict_on(best, comment="  spot on "))
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["answer"] == best["answer"]
    assert (stored["file"], stored["paragraph"]) == (best["citation"]["file"], 15)
    assert stored["comment"] == "spot on"
    assert stored["channel"] == "api"
    assert stored["index_version"].startswith("v-")
    assert stored["id"] in [row["id"] for row in exported(client)]


def test_the_answer_is_read_from_the_archive_not_taken_from_the_sender(
    client: TestClient, best: dict
) -> None:
    body = verdict_on(best, answer="something else entirely")
    assert client.post("/feedback", json=body).json()["answer"] == best["answer"]


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"file": "no_such_article.txt"}, "No article named 'no_such_article.txt'"),
        ({"paragraph": 999}, "has no paragraph 999"),
        ({"start": 0, "end": 5}, "are not inside"),
        ({"verdict": "meh"}, "verdict"),
        ({"comment": "x" * 51}, "limited to 50"),
        ({"question": "   "}, "question"),
        ({"score": 1.5}, "score"),
    ],
)
def test_bad_feedback_is_refused_with_a_reason(
    client: TestClient, best: dict, changes: dict, said: str
) -> None:
    before = len(exported(client))
    response = client.post("/feedback", json=verdict_on(best, **changes))
    assert response.status_code == 422
    assert said in response.json()["error"]
    assert len(exported(client)) == before


def test_export_needs_the_api_token(client: TestClient) -> None:
    assert client.get("/feedback").status_code == 401
    wrong = client.get("/feedback", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "feedback export" in wrong.json()["error"]


def test_export_takes_since(client: TestClient, best: dict) -> None:
    client.post("/feedback", json=verdict_on(best, "wrong_answer"))
    assert exported(client, since="2999-01-01") == []
    assert len(exported(client, since="2000-01-01T00:00:00Z")) == len(exported(client))
    bad = client.get("/feedback", headers=AUTH, params={"since": "last week"})
    assert bad.status_code == 422
    assert "since" in bad.json()["error"]


def test_metrics_count_feedback_by_channel_and_verdict(client: TestClient, best: dict) -> None:
    def count() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith('newsroom_feedback_total{channel="api",verdict="wrong_citation"}'):
                return float(line.split()[-1])
        return 0.0

    before = count()
    client.post("/feedback", json=verdict_on(best, "wrong_citation"))
    assert count() == before + 1


def test_the_schema_documents_feedback(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths["/feedback"])
    assert "/feedback/form" not in paths


# --- the web form ----------------------------------------------------------------------------


def test_each_answer_on_the_form_has_feedback_buttons(client: TestClient) -> None:
    page = client.get("/", params={"q": QUESTION, "top_k": 2}).text
    assert page.count('action="/feedback/form"') == 2
    assert page.count('name="verdict" value="wrong_citation"') == 2
    assert 'name="file" value="003_2876eb5f33050c79.txt"' in page


def test_a_form_button_stores_feedback_and_thanks(client: TestClient, best: dict) -> None:
    c = best["citation"]
    fields = {
        "question": QUESTION, "file": c["file"], "paragraph": str(c["paragraph"]),
        "start": str(c["start"]), "end": str(c["end"]), "score": str(best["score"]),
        "verdict": "wrong_citation", "comment": "the other article says €200 million",
    }  # fmt: skip
    page = client.post("/feedback/form", data=fields)
    assert page.status_code == 200
    assert "Thank you" in page.text and "Wrong citation" in page.text
    assert "/?q=How+much+did+Denmark+pay+Kosovo%3F" in page.text
    last = exported(client)[-1]
    assert (last["channel"], last["verdict"], last["comment"]) == (
        "form", "wrong_citation", fields["comment"],
    )  # fmt: skip


def test_a_tampered_form_is_refused_on_a_page_with_the_reason_escaped(
    client: TestClient,
) -> None:
    fields = {"question": "<b>q</b>", "file": "<script>x</script>.txt", "paragraph": "1",
              "start": "0", "end": "3", "score": "0.5", "verdict": "right"}  # fmt: skip
    page = client.post("/feedback/form", data=fields)
    assert page.status_code == 422
    assert "Feedback not stored" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    numbers = client.post("/feedback/form", data=fields | {"paragraph": "one"})
    assert numbers.status_code == 422 and "not numbers" in numbers.text


def test_a_chat_button_token_round_trips_and_a_forged_one_is_refused() -> None:
    cited = Cited("How much “exactly”?", "a.txt", 2, 10, 20, 0.25)
    assert from_token(token(cited)) == cited
    with pytest.raises(BadFeedback):
        from_token('{"not": "ours"}')


def test_feedback_survives_a_server_restart(index_dir: Path, best: dict) -> None:
    server = start_server(index_dir)
    with server.client() as http:
        stored = http.post("/feedback", json=verdict_on(best)).json()
        fields = {k: str(v) for k, v in verdict_on(best, "wrong_citation").items()}
        page = http.post("/feedback/form", data=fields | {"comment": "over a real socket"})
        assert page.status_code == 200 and "Thank you" in page.text
    assert server.stop_cleanly()
    again = start_server(index_dir)
    try:
        with again.client() as http:
            lines = [
                json.loads(line) for line in http.get("/feedback", headers=AUTH).text.splitlines()
            ]
        assert stored["id"] in [line["id"] for line in lines]
        assert lines[-1]["comment"] == "over a real socket" and lines[-1]["channel"] == "form"
    finally:
        again.stop()


def test_an_export_is_an_eval_question_set(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Marked right: gold, found again at rank 1; marked wrong: counted as known-bad."""
    index_dir = make_archive(tmp_path / "archive", embedder)
    corpus = index_dir.parent / "corpus"
    settings = Settings(index_dir=index_dir, corpus_dir=corpus, api_token=TOKEN)
    with TestClient(create_app(settings, embedder=embedder)) as http:
        first, second = http.post("/ask", json={"question": QUESTION, "top_k": 2}).json()["answers"]
        for given, verdict in ((first, "right"), (first, "right"), (second, "wrong_answer")):
            assert http.post("/feedback", json=verdict_on(given, verdict)).status_code == 201
        export = tmp_path / "feedback.jsonl"
        export.write_text(http.get("/feedback", headers=AUTH).text, encoding="utf-8")
    args = [str(corpus), "--corpus", str(corpus), "--questions", str(export), "--json"]
    assert cli(["eval", *args, "--no-progress", "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr()
    [hybrid] = json.loads(out.out)
    assert (hybrid["questions"], hybrid["answerable"], hybrid["r1"]) == (1, 1, 1.0)
    assert hybrid["em"] == 1.0  # the gold answer is the marked answer's own text
    assert "Known-bad: 1 answers marked wrong (1 wrong answer, 0 wrong citation)" in out.err
    assert "0 still given first" in out.err  # the second answer is not the first one


def test_only_an_export_is_read_as_feedback(tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    line = {"id": "1", "question": "Who?", "answers": ["Ann"], "sources": [["a.txt", 2]]}
    questions.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert not is_feedback(questions)
    export = tmp_path / "feedback.jsonl"
    export.write_text("\n" + one().as_json() + "\n", encoding="utf-8")
    assert is_feedback(export)
    [gold], bad = question_set(export, {"a.txt"})
    assert (gold.question, gold.answers, gold.sources, gold.answerable) == (
        "Who?", ("Ann",), (("a.txt", 1),), True,
    )  # fmt: skip
    assert bad == []


def test_a_comment_that_is_not_text_is_refused(client: TestClient, best: dict) -> None:
    body = json.dumps(verdict_on(best)).replace('"verdict"', '"comment": "\\ud800", "verdict"')
    response = client.post("/feedback", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert "error" in response.json()


def test_feedback_is_rate_limited(index_dir: Path, embedder: Embedder, best: dict) -> None:
    settings = Settings(index_dir=index_dir, rate_limit_per_minute=1, rate_limit_burst=2)
    with TestClient(create_app(settings, embedder=embedder)) as http:
        statuses = [http.post("/feedback", json=verdict_on(best)).status_code for _ in range(3)]
        form = http.post("/feedback/form", data={"verdict": "right"})
    assert statuses == [201, 201, 429]
    assert form.status_code == 429 and "Too many requests" in form.json()["error"]


def test_a_large_export_streams_every_row_in_order(client: TestClient, index_dir: Path) -> None:
    before = len(exported(client))
    for _ in range(300):
        feedback_store.add(index_dir, one())
    rows = exported(client)
    assert len(rows) == before + 300
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
