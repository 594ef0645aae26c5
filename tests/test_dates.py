"""Filters and date words on a small dated archive (tests/data/dated: a reservoir and a dam
budget, 2022-2025, two outlets, two sections), through the reader, /ask, the form, the CLI
and chat."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.archive.ingest import build_index
from app.config import Settings
from app.main import create_app
from app.reader.answer import Reader
from app.reader.retrieve import Retriever
from app.reader.scope import Filters
from tests.conftest import ROOT
from tests.test_cli import _run

DATED = ROOT / "tests" / "data" / "dated"
TOKEN = "mm-dated-token"
LEVEL = "What level did Millbrook Reservoir reach?"


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    base = tmp_path_factory.mktemp("dated")
    shutil.copytree(DATED, base / "corpus")
    build_index(
        base / "corpus", base / "index", model=embedder.name, load_embedder=lambda: embedder
    )
    return base / "index"


@pytest.fixture(scope="module")
def dated(dated_index: Path, embedder) -> Iterator[TestClient]:
    settings = Settings(
        index_dir=dated_index, corpus_dir=dated_index.parent / "corpus", mattermost_token=TOKEN
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


@pytest.fixture(scope="module")
def reader(dated: TestClient) -> Reader:
    return dated.app.state.archive.reader  # type: ignore[attr-defined]


def published(answer) -> date:
    return date.fromisoformat(answer.citation.meta.published)


@pytest.mark.parametrize("method", ["bm25", "dense", "hybrid"])
def test_a_filter_that_excludes_the_best_passage_returns_the_next(reader: Reader, method):
    best = reader.ask(LEVEL, top_k=1, method=method, dates="any").answers[0]
    day = published(best)
    next_day = Filters(published_after=day + timedelta(days=1))
    later = reader.ask(LEVEL, top_k=3, method=method, filters=next_day)
    assert later.answers and all(published(a) > day for a in later.answers)
    earlier = reader.ask(LEVEL, top_k=3, method=method, filters=Filters(published_before=day))
    assert earlier.answers and all(published(a) < day for a in earlier.answers)


def test_a_filter_leaving_one_article_still_answers_from_it(reader: Reader):
    only = Filters(published_after=date(2023, 8, 1), published_before=date(2023, 9, 1))
    result = reader.ask(LEVEL, top_k=3, filters=only)
    assert result.answers and {a.citation.file for a in result.answers} == {"2023-08-reservoir.md"}
    assert "47 percent" in result.answers[0].sentence


def test_section_and_source_match_without_regard_to_case(reader: Reader):
    result = reader.ask(
        LEVEL, top_k=5, filters=Filters(section="politics", source="valley courier")
    )
    assert {a.citation.file for a in result.answers} == {"2025-06-budget.md"}


def test_the_faiss_selector_finds_what_exact_search_finds(reader: Reader):
    allowed = reader.retriever.facets.mask(Filters(section="Environment"))
    query = reader.embedder.encode([LEVEL])[0]
    exact = reader.retriever.dense_rows_within(query, 10, allowed)
    by_faiss = Retriever(reader.index, replace(reader.retriever.fusion, exact_below=0))
    assert list(by_faiss.dense_rows_within(query, 10, allowed)) == list(exact)
    assert allowed[exact].all()


@pytest.mark.parametrize(
    "question",
    ["What is the latest level of Millbrook Reservoir?", "What is the reservoir level now?"],
)
def test_latest_prefers_the_newest_answer(reader: Reader, question):
    result = reader.ask(question, top_k=3)
    assert result.scope is not None and result.scope.prefer == "newest"
    assert result.answers[0].citation.file == "2025-02-reservoir.md"
    assert result.answers[0].newest


def test_as_of_hides_later_articles(reader: Reader):
    result = reader.ask(
        "What is the latest level of Millbrook Reservoir?",
        top_k=5,
        filters=Filters(as_of=date(2023, 1, 1)),
    )
    assert result.answers and all(published(a) <= date(2023, 1, 1) for a in result.answers)
    assert result.answers[0].citation.file == "2022-09-reservoir.md"


def test_answers_from_differently_dated_articles_mark_the_newest(reader: Reader):
    answers = reader.ask("How much did the dam repairs cost?", top_k=3, dates="any").answers
    latest = max(published(a) for a in answers)
    assert len({published(a) for a in answers}) > 1
    assert [a.newest for a in answers] == [published(a) == latest for a in answers]


def test_the_response_says_how_it_read_the_question(dated: TestClient):
    body = dated.post(
        "/ask", json={"question": "What level did the reservoir reach in 2022?"}
    ).json()
    assert body["scope"] == {
        "published_after": "2022-01-01", "published_before": "2023-01-01",
        "prefer": None, "from": "in 2022",
    }  # fmt: skip
    assert {a["citation"]["published"][:4] for a in body["answers"]} == {"2022"}
    plain = dated.get(
        "/ask", params={"q": "What level did the reservoir reach in 2022?", "dates": "any"}
    )
    assert plain.json()["scope"] is None


def test_a_year_with_no_article_is_left_as_words(dated: TestClient):
    body = dated.post("/ask", json={"question": "What were the spillway gates built in 1968 like?"})
    assert body.json()["scope"] is None and body.json()["answers"]


def test_an_undated_archive_reads_no_dates(client: TestClient):
    question = "What did Kosovo accept in 2022?"
    read = client.post("/ask", json={"question": question}).json()
    assert read["scope"] is None
    assert read == client.post("/ask", json={"question": question, "dates": "any"}).json()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"published_after": "2024-13-01"}, "published_after"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"published_after": "2025-01-01", "published_before": "2024-01-01"}, "earlier than"),
        ({"dates": "some"}, "dates"),
    ],
)
def test_bad_filters_are_refused_with_a_reason(dated: TestClient, body, says):
    response = dated.post("/ask", json={"question": LEVEL, **body})
    assert response.status_code == 422 and says in response.json()["error"]
    query = {"q": LEVEL, **body}
    assert dated.get("/ask", params=query).status_code == 422


def test_the_form_shows_the_scope_and_a_link_to_drop_it(dated: TestClient):
    page = dated.get("/", params={"q": "Was the <reservoir> full in 2022?"}).text
    assert "Articles published from 1 January 2022 to 31 December 2022" in page
    assert "search all dates" in page and "dates=any" in page
    assert "<reservoir>" not in page and "&lt;reservoir&gt;" in page
    assert 'name="section"' in page


def test_the_form_takes_the_filters_and_says_a_bad_date(dated: TestClient):
    page = dated.get("/", params={"q": LEVEL, "section": "Politics"}).text
    assert "2025-06-budget.md" in page and "2022-03-reservoir.md" not in page
    bad = dated.get("/", params={"q": LEVEL, "after": "soon"})
    assert bad.status_code == 422 and "is not a date" in bad.text


def test_the_cli_takes_the_filters(dated_index: Path):
    done = _run("ask", LEVEL, "--index-dir", str(dated_index), "--before", "2023-01-01", "--json")
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)["answers"]
    assert answers and all(a["citation"]["published"] < "2023" for a in answers)
    bad = _run("ask", LEVEL, "--index-dir", str(dated_index), "--as-of", "soon")
    assert bad.returncode != 0 and "not a date" in bad.stderr


def test_a_chat_command_takes_filter_tokens(dated: TestClient):
    form = {
        "token": TOKEN,
        "command": "/ask",
        "text": f'{LEVEL} section:Politics source:"Valley Courier"',
    }
    auth = {"Authorization": f"Token {TOKEN}"}
    reply = dated.post("/integrations/mattermost", data=form, headers=auth).json()
    assert "7.2 million" in reply["text"] and "91 percent" not in reply["text"]
    form["text"] = f"{LEVEL} after:2024-99-01"
    reply = dated.post("/integrations/mattermost", data=form, headers=auth).json()
    assert reply["text"].startswith("after:2024-99-01 is not a date")
