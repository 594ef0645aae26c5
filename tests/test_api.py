from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

DENMARK = "How much did Denmark pay Kosovo?"


def _file_text(settings: Settings, name: str) -> str:
    with open(settings.corpus_dir / name, encoding="utf-8", newline="") as handle:
        return handle.read()


def test_ask_returns_verbatim_answers_whose_offsets_slice_the_file(client, settings):
    response = client.post("/ask", json={"question": DENMARK, "top_k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["question"] == DENMARK and body["no_answer"] is False
    assert 1 <= len(body["answers"]) <= 5
    for answer in body["answers"]:
        c = answer["citation"]
        text = _file_text(settings, c["file"])
        assert text[c["start"] : c["end"]] == answer["answer"]
        assert answer["answer"] in answer["sentence"]
        assert answer["sentence"] in answer["passage"]
        assert 0 <= answer["score"] <= 1
        assert c["url"] == f"/documents/{c['file']}?hl={c['paragraph']}#p{c['paragraph']}"
    scores = [a["score"] for a in body["answers"]]
    assert scores == sorted(scores, reverse=True)
    # Each score is P(answerable) x the passage's share among all candidates: the shown
    # answers split one probability, with rounding to 4 places as the only slack.
    assert sum(scores) <= 1 + 5e-4


def test_disagreeing_sources_are_both_returned_with_their_own_citations(client):
    body = client.get("/ask", params={"q": DENMARK}).json()
    found = {
        (a["citation"]["file"], a["citation"]["paragraph"]): a["answer"] for a in body["answers"]
    }
    assert any(
        "€200 million" in v for k, v in found.items() if k == ("000_383fbfdafa3fa088.txt", 10)
    )
    assert any("$230 million" in v for k, v in found.items() if k[0] == "003_2876eb5f33050c79.txt")


def test_get_and_post_ask_agree(client):
    posted = client.post("/ask", json={"question": DENMARK, "top_k": 2}).json()
    got = client.get("/ask", params={"q": DENMARK, "top_k": 2}).json()
    assert posted == got


def test_question_is_trimmed(client):
    body = client.post("/ask", json={"question": f"  {DENMARK}\n"}).json()
    assert body["question"] == DENMARK


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"question": ""}, "empty"),
        ({"question": "   \n\t"}, "empty"),
        ({"question": "x" * 501}, "limited to 500 characters"),
        ({"question": DENMARK, "top_k": 0}, "top_k"),
        ({"question": DENMARK, "top_k": 11}, "top_k is 11; it may be at most 10"),
        ({"question": DENMARK, "top_k": "many"}, "top_k"),
        ({}, "question"),
        ({"question": 42}, "question"),
    ],
)
def test_ask_rejects_bad_input_with_a_clear_4xx(client, payload, message):
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    assert message in response.json()["error"]


@pytest.mark.parametrize("query", ["", "q=", "q=%20%20", "q=ok&top_k=0", "q=ok&top_k=99"])
def test_get_ask_rejects_bad_input(client, query):
    response = client.get(f"/ask?{query}")
    assert response.status_code == 422
    assert response.json()["error"]


@pytest.fixture(scope="module")
def tight(settings, embedder):
    """The limits set lower than their defaults."""
    changes = {"default_top_k": 1, "max_top_k": 4, "max_question_chars": 40}
    with TestClient(create_app(settings.model_copy(update=changes), embedder=embedder)) as c:
        yield c


def test_ask_gives_default_top_k_answers_and_refuses_more_than_max_top_k(tight):
    assert len(tight.post("/ask", json={"question": DENMARK}).json()["answers"]) == 1
    assert len(tight.get("/ask", params={"q": DENMARK}).json()["answers"]) == 1
    assert len(tight.post("/ask", json={"question": DENMARK, "top_k": 4}).json()["answers"]) > 1
    for response in (
        tight.post("/ask", json={"question": DENMARK, "top_k": 5}),
        tight.get("/ask", params={"q": DENMARK, "top_k": 5}),
    ):
        assert response.status_code == 422
        assert response.json()["error"] == "top_k is 5; it may be at most 4."


def test_ask_refuses_a_question_over_max_question_chars(tight):
    response = tight.post("/ask", json={"question": "x" * 41})
    assert response.status_code == 422
    assert "limited to 40 characters" in response.json()["error"]


def test_settings_refuse_a_default_top_k_over_the_max():
    with pytest.raises(ValueError, match="over max_top_k"):
        Settings(default_top_k=5, max_top_k=4)


def test_malformed_json_is_a_400_not_a_500(client):
    response = client.post(
        "/ask", content=b'{"question": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_documents_lists_the_indexed_articles(client):
    docs = client.get("/documents").json()
    assert [d["file"] for d in docs] == ["000_383fbfdafa3fa088.txt", "003_2876eb5f33050c79.txt"]
    first = docs[0]
    assert first["paragraphs"] == 31 and first["chunks"] > 0
    assert first["title"].startswith("A poor European country")


@pytest.mark.parametrize(
    "path",
    [
        "/documents/unknown.txt",
        "/documents/..%2F..%2Fetc%2Fpasswd",
        "/documents/%2Fetc%2Fpasswd",
        "/documents/../pyproject.toml",
        "/documents/.%2E/.%2E/pyproject.toml",
    ],
)
def test_unknown_documents_and_path_tricks_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "error" in response.json()


def test_healthz_reports_what_is_loaded(client):
    body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "documents": 2,
        "chunks": body["chunks"],
        "model": "all-MiniLM-L6-v2",
    }
    assert body["chunks"] > 20


def test_without_an_index_the_service_says_503_with_a_reason(tmp_path: Path, embedder):
    settings = Settings(index_dir=tmp_path / "none", corpus_dir=tmp_path)
    with TestClient(create_app(settings, embedder=embedder)) as empty:
        health = empty.get("/healthz")
        assert health.status_code == 503
        assert "python -m app index" in health.json()["reason"]
        ask = empty.post("/ask", json={"question": DENMARK})
        assert ask.status_code == 503
        assert ask.json()["error"]


def test_openapi_documents_the_ask_endpoint(client):
    spec = client.get("/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"]["/ask"])
    assert client.get("/docs").status_code == 200
