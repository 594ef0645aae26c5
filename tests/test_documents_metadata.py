"""Articles with metadata through the API: posted with fields, listed and filtered, cited by
headline, outlet and date in answers, the form, the document view and chat replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.archive.corpus import read_text
from app.archive.embed import Embedder
from app.config import Settings
from app.integrations.messages import markdown_message
from app.main import create_app
from tests.servers import AUTH, TOKEN, make_archive

FERRY = {
    "file": "ferry.md",
    "text": "Ferry line reopens\n\nThe harbour ferry carried 4,200 passengers on its first day "
    "back, the operator Tidewater Lines said.\n",
    "title": "Harbour ferry back in service",
    "published": "2025-06-01",
    "author": ["Ana Lopez", "Ben Ode"],
    "section": "Transport",
    "source": "The Daily Ledger",
    "url": "https://ledger.example/ferry",
}
QUESTION = "How many passengers did the harbour ferry carry on its first day back?"


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    index_dir = make_archive(tmp_path_factory.mktemp("meta"), embedder)
    settings = Settings(index_dir=index_dir, api_token=TOKEN, rate_limit_per_minute=0)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        assert client.post("/documents", json=FERRY, headers=AUTH).status_code == 201
        yield client


def test_posted_metadata_is_stored_as_front_matter(writer: TestClient) -> None:
    corpus = Path(writer.app.state.archive.reader.index.corpus_dir)  # type: ignore[attr-defined]
    text = read_text(corpus / "ferry.md")
    assert text.startswith("---\ntitle: Harbour ferry back in service\npublished: '2025-06-01'\n")
    assert text.endswith(FERRY["text"])


def test_an_answer_cites_headline_outlet_date_and_the_original_link(writer: TestClient) -> None:
    top = writer.post("/ask", json={"question": QUESTION}).json()["answers"][0]
    assert "4,200" in top["answer"]
    citation = top["citation"]
    assert citation["file"] == "ferry.md" and citation["paragraph"] == 2
    assert citation["title"] == "Harbour ferry back in service"
    assert citation["source"] == "The Daily Ledger"
    assert citation["published"] == "2025-06-01" and citation["updated"] is None
    assert citation["author"] == "Ana Lopez, Ben Ode"
    assert citation["section"] == "Transport"
    assert citation["source_url"] == "https://ledger.example/ferry"
    assert citation["url"].endswith("/documents/ferry.md?hl=2#p2")


def test_documents_lists_metadata_and_filters_by_it(writer: TestClient) -> None:
    ferry = next(d for d in writer.get("/documents").json() if d["file"] == "ferry.md")
    assert ferry["source"] == "The Daily Ledger" and ferry["published"] == "2025-06-01"

    def files(**params: str) -> list[str]:
        response = writer.get("/documents", params=params)
        assert response.status_code == 200
        return [d["file"] for d in response.json()]

    assert files(section="transport") == ["ferry.md"]
    assert files(source="The Daily Ledger", published_after="2025-06-01") == ["ferry.md"]
    assert files(published_before="2025-05-31") == []  # undated seeds match no date bound
    assert len(files()) == 3


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"published_after": "2025-07-01", "published_before": "2025-06-01"}, "later than"),
        ({"published_after": "June"}, "date"),
    ],
)
def test_a_bad_date_filter_is_422(writer: TestClient, params: dict[str, str], says: str) -> None:
    response = writer.get("/documents", params=params)
    assert response.status_code == 422
    assert says in response.text


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"published": "next week"}, "field 'published': 'next week' is not an ISO 8601 date"),
        ({"text": "---\ntitle: T\n---\n\nA body paragraph of enough words.\n"}, "one way"),
    ],
)
def test_bad_metadata_is_refused_and_nothing_written(
    writer: TestClient, fields: dict[str, str], says: str
) -> None:
    body = {**FERRY, "file": "refused.md", **fields}
    response = writer.post("/documents", json=body, headers=AUTH)
    assert response.status_code == 422
    assert says in response.json()["error"]
    assert writer.get("/documents/refused.md").status_code == 404


def test_a_correction_without_metadata_keeps_the_headline_and_date(writer: TestClient) -> None:
    text = FERRY["text"].replace("4,200", "4,300")
    response = writer.put("/documents/ferry.md", json={"text": text}, headers=AUTH)
    assert response.status_code == 200
    top = writer.post("/ask", json={"question": QUESTION}).json()["answers"][0]
    assert "4,300" in top["answer"]
    assert top["citation"]["title"] == "Harbour ferry back in service"
    assert top["citation"]["published"] == "2025-06-01"


def test_form_and_document_view_show_headline_outlet_date_and_a_copy_line(
    writer: TestClient,
) -> None:
    page = writer.get("/", params={"q": QUESTION}).text
    assert "Harbour ferry back in service</a> · The Daily Ledger · 1 Jun 2025" in page
    assert "ferry.md ¶2" in page
    assert 'readonly value="&#34;The harbour ferry carried' in page
    assert "Harbour ferry back in service, The Daily Ledger, 1 Jun 2025, ¶2, " in page
    view = writer.get("/documents/ferry.md", params={"hl": 2}).text
    assert "The Daily Ledger · Transport · Published 1 Jun 2025 · By Ana Lopez, Ben Ode" in view
    assert 'href="https://ledger.example/ferry"' in view
    assert "Copy citation of ¶2" in view


def test_chat_replies_cite_the_headline_outlet_and_date(writer: TestClient) -> None:
    reader = writer.app.state.archive.reader  # type: ignore[attr-defined]
    reply = markdown_message(reader.ask(QUESTION), "https://news.example")
    assert "[Harbour ferry back in service, The Daily Ledger, 1 Jun 2025 · ferry.md ¶2](" in reply


def test_metadata_in_html_is_escaped(writer: TestClient) -> None:
    body = {
        **FERRY,
        "file": "xss.md",
        "title": "<script>alert(1)</script>",
        "url": "javascript:alert(1)",
        "text": "Tram news\n\nThe night tram ran 31 extra services during the storm week.\n",
    }
    assert writer.post("/documents", json=body, headers=AUTH).status_code == 201
    view = writer.get("/documents/xss.md", params={"hl": 2}).text
    assert "<script>alert(1)" not in view and "&lt;script&gt;" in view
    assert "javascript:" not in view.split("Copy citation")[0]
