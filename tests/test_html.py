"""News pages in the corpus: the article extracted from the page, numbered, indexed and cited
into the very text GET /documents/{file}/text serves."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import publish
from app.archive import extracted
from app.archive.html import fragment_text, page_article
from app.archive.ingest import build_index, read_corpus
from app.config import Settings
from app.errors import NoArticle
from app.main import create_app

PAGES = Path(__file__).parent / "data" / "html"
FERRY = PAGES / "harbour-ferry.html"
KOSOVO = PAGES / "kosovo-prisons.htm"
FRONT = PAGES / "section-front.html"


def ferry() -> extracted.Article:
    return extracted.read_article(FERRY)


def test_a_page_gives_its_article_not_its_navigation_ads_or_captions():
    text = ferry().text
    assert "Councillors have approved a £14.2 million plan" in text
    assert "offered for sale, the council said." in text
    noise = ["Subscribe for £1", "Most read", "Advertisement", "Accept all", "Sign in"]
    noise += ["artist's impression", "free newsletter", "Ferry fares to rise", "All rights"]
    for words in noise:
        assert words not in text, words


def test_a_pages_metadata_is_mapped_onto_the_article():
    article = ferry()
    meta = article.meta
    assert (
        article.title
        == meta.title
        == ("Council approves £14.2m electric ferry for the harbour crossing")
    )
    assert meta.published == "2025-06-01"
    assert meta.authors == ("Priya Natarajan", "Tom Ellery")
    assert meta.source == "The Dockside Courier"
    assert meta.section == "Local News"
    assert meta.url == (
        "https://www.docksidecourier.example/news/2025/06/01/council-approves-electric-ferry"
    )


def test_a_pages_paragraphs_are_numbered_as_the_page_reads():
    article = ferry()
    numbered = {p.number: p for p in article.paragraphs}
    assert numbered[1].text.startswith("Councillors have approved")
    assert numbered[5].text.startswith("The Harbour Board will pay £3.5 million")
    assert numbered[6].kind == "heading" and numbered[6].text == "What happens to the old ferry?"
    assert numbered[7].section == "What happens to the old ferry?"
    assert len(article.paragraphs) == 8
    for p in article.paragraphs:
        assert article.text[p.start : p.end] == p.text


def test_a_page_is_read_in_the_encoding_it_declares():
    article = extracted.read_article(KOSOVO)
    assert "Denmark will pay Kosovo €200 million over ten years" in article.text
    assert article.meta.authors == ("Lena Sørensen",)
    assert article.meta.source == "Northern Wire Service"
    assert article.meta.published == "2022-12-20"
    assert "Client login" not in article.text and "Related coverage" not in article.text


def test_a_pages_hash_is_of_its_bytes_so_reconcile_needs_no_parsing():
    assert ferry().sha256 == hashlib.sha256(FERRY.read_bytes()).hexdigest()


def test_a_page_of_navigation_only_has_no_article():
    with pytest.raises(NoArticle, match="section-front.html: no article text found"):
        page_article(FRONT.name, FRONT.read_bytes())


def test_pages_without_an_article_are_skipped_with_the_reason(tmp_path):
    shutil.copy(FRONT, tmp_path)
    (tmp_path / "blank.htm").write_bytes(b"  \n")
    articles, skipped = read_corpus(tmp_path)
    assert articles == []
    assert dict(skipped) == {
        "blank.htm": "empty",
        "section-front.html": "no article text found (only navigation or boilerplate)",
    }


def test_a_feed_items_markup_becomes_paragraphs():
    markup = "<p>One <b>bold</b> word.<br>Same paragraph.</p><ul><li>A point</li></ul>tail"
    markup += "<script>var ad = 1;</script><!-- tracking -->"
    assert fragment_text(markup) == "One bold word. Same paragraph.\n\nA point\n\ntail"


@pytest.fixture(scope="module")
def pages_index(tmp_path_factory, embedder):
    base = tmp_path_factory.mktemp("pages")
    corpus = base / "corpus"
    corpus.mkdir()
    for page in (FERRY, KOSOVO, FRONT):
        shutil.copy(page, corpus)
    (corpus / "note.txt").write_text("Ferry timetable\n\nThe last ferry leaves the quay at 11pm.\n")
    index_dir = base / "index"
    report = build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    assert report.skipped == [
        ("section-front.html", "no article text found (only navigation or boilerplate)")
    ]
    return index_dir


@pytest.fixture(scope="module")
def pages_client(pages_index, embedder):
    settings = Settings(index_dir=pages_index, corpus_dir=pages_index.parent / "corpus")
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


def test_an_answer_from_a_page_slices_the_text_the_api_serves(pages_client):
    body = pages_client.post("/ask", json={"question": "How much will the Harbour Board pay?"})
    first = body.json()["answers"][0]
    c = first["citation"]
    assert c["file"] == "harbour-ferry.html" and first["answer"] == "£3.5 million"
    text = pages_client.get(f"/documents/{c['file']}/text")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text[c["start"] : c["end"]] == first["answer"]
    assert (c["title"], c["source"], c["published"]) == (
        "Council approves £14.2m electric ferry for the harbour crossing",
        "The Dockside Courier",
        "2025-06-01",
    )


def test_a_text_files_text_is_the_file_itself(pages_client, pages_index):
    served = pages_client.get("/documents/note.txt/text").text
    assert served == (pages_index.parent / "corpus" / "note.txt").read_text()
    assert pages_client.get("/documents/section-front.html/text").status_code == 404


def test_the_document_view_shows_a_pages_article(pages_client):
    page = pages_client.get("/documents/kosovo-prisons.htm?hl=4").text
    assert "Denmark will pay Kosovo €200 million" in page and "Client login" not in page
    assert "“The prisoners will have the same rights" in page


def test_reindexing_unchanged_pages_embeds_nothing_and_reconcile_agrees(pages_index, embedder):
    report = build_index(
        pages_index.parent / "corpus", pages_index, model=embedder.name, load_embedder=_no_model
    )
    assert (report.embedded, report.saved) == ([], False)
    digest = hashlib.sha256(FERRY.read_bytes()).hexdigest()
    assert (extracted.folder(pages_index) / f"{digest}.md").is_file()
    assert publish.reconcile(pages_index, embedder) is None


def test_a_page_is_cited_as_indexed_even_after_it_changes(pages_index):
    corpus = pages_index.parent / "corpus"
    digest = hashlib.sha256(FERRY.read_bytes()).hexdigest()
    before = extracted.cited_article(pages_index, corpus, FERRY.name, digest).text
    assert before == ferry().text
    (corpus / "copy.html").write_bytes(FERRY.read_bytes().replace(b"31 to 9", b"30 to 10"))
    assert extracted.cited_article(pages_index, corpus, "copy.html", digest).text == before
    (corpus / "copy.html").unlink()


def _no_model():
    raise AssertionError("an unchanged corpus must not load the model")
