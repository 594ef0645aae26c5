"""Copies collapse in answers, end to end: real BBC articles, the real model, a real index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import publish
from app.answers import ask_response
from app.archive import store
from app.archive.embed import Embedder
from app.archive.ingest import Report, build_index
from app.citations import also_in_line
from app.integrations.messages import markdown_message
from app.live import Archive
from tests.conftest import SHARED

BBC = SHARED / "eval" / "bbc-news" / "corpus"
# tech_225 is tech_212 filed again with small edits; tech_036 is tech_003 byte for byte.
FILES = (
    "tech_212.txt",
    "tech_225.txt",
    "tech_003.txt",
    "tech_036.txt",
    "tech_001.txt",
    "tech_002.txt",
    "business_001.txt",
    "sport_001.txt",
)
QUESTION = "How many mobile phone owners did Ericsson interview for its study?"  # ¶4 of all 3
# ¶3 reads "handset maker Ericsson" in two copies, "telecommunications company" in tech_225.
REWORDED = "Who carried out the study showing that lifestyle governs the choice of mobile phone?"

pytestmark = pytest.mark.skipif(not BBC.is_dir(), reason="the shared BBC corpus is not there")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Archive, Report]:
    base = tmp_path_factory.mktemp("copies")
    corpus = base / "corpus"
    corpus.mkdir()
    for name in FILES:
        shutil.copy(BBC / name, corpus / name)
    shutil.copy(BBC / "tech_003.txt", corpus / "tech_003_again.txt")
    # The same story as wire copy under a new headline, dated: it leads, though it sorts last.
    body = (BBC / "tech_212.txt").read_text(encoding="utf-8").split("\n\n", 1)[1]
    front = "---\ntitle: Phone buyers choose by lifestyle\npublished: 2004-11-02\n---\n\n"
    (corpus / "wire_212.md").write_text(f"{front}Phone buyers choose by lifestyle\n\n{body}")
    index_dir = base / "index"
    report = build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    archive = Archive(index_dir, embedder)
    archive.load()
    return archive, report


def test_bulk_index_takes_an_exact_copy_once_and_reports_it(built: tuple[Archive, Report]) -> None:
    archive, report = built
    copies = ("tech_003_again.txt", "tech_036.txt")
    assert report.copies == [(name, "tech_003.txt") for name in copies]
    assert not set(copies) & set(archive.reader.index.files)
    assert archive.reader.index.files["tech_003.txt"].copies == copies


def test_a_story_filed_three_times_is_answered_once_led_by_the_earliest(
    built: tuple[Archive, Report],
) -> None:
    archive, _ = built
    result = archive.reader.ask(QUESTION, top_k=3)
    first = result.answers[0]
    assert "14,000" in first.sentence
    assert (first.citation.file, first.citation.paragraph) == ("wire_212.md", 4)
    assert first.citation.meta.published == "2004-11-02"
    others = {(a.file, a.paragraph) for a in first.also_in}
    assert others == {("tech_212.txt", 4), ("tech_225.txt", 4)}
    # The copies do not take the places of other stories: three distinct answers.
    assert len(result.answers) == 3
    cited = [(a.citation.file, a.citation.paragraph) for a in result.answers]
    assert not set(cited[1:]) & (others | {cited[0]})


def test_a_copy_without_the_answering_sentence_does_not_lead(
    built: tuple[Archive, Report],
) -> None:
    archive, _ = built
    result = archive.reader.ask(REWORDED, top_k=3)
    first = result.answers[0]
    passage = archive.reader.index.passages[
        archive.reader.index.passage_rows[(first.citation.file, first.citation.paragraph)]
    ]
    assert first.sentence in passage.text and "Ericsson" in first.sentence
    copies = {(a.file, a.paragraph) for a in first.also_in} | {(first.citation.file, 3)}
    assert copies == {("wire_212.md", 3), ("tech_212.txt", 3), ("tech_225.txt", 3)}
    assert len(result.answers) == 3
    assert not {(a.citation.file, a.citation.paragraph) for a in result.answers[1:]} & copies


def test_also_in_is_in_the_response_with_each_copys_title(built: tuple[Archive, Report]) -> None:
    archive, _ = built
    body = ask_response(archive.reader.ask(QUESTION, top_k=3)).model_dump()
    also = {row["file"]: row for row in body["answers"][0]["also_in"]}
    assert also["tech_225.txt"]["title"] == "Lifestyle 'governs mobile choice'"
    assert also["tech_225.txt"]["published"] is None
    keys = {"file", "paragraph", "title", "published"}
    assert all(set(row) == keys for answer in body["answers"] for row in answer["also_in"])


def test_an_answer_from_a_kept_file_lists_its_exact_copy(built: tuple[Archive, Report]) -> None:
    archive, _ = built
    result = archive.reader.ask("What is Microsoft investigating?", top_k=1)
    answer = result.answers[0]
    assert answer.citation.file == "tech_003.txt"
    assert [(a.file, a.paragraph) for a in answer.also_in] == [
        ("tech_003_again.txt", answer.citation.paragraph),
        ("tech_036.txt", answer.citation.paragraph),
    ]


def test_groups_are_saved_with_the_version_and_read_back(built: tuple[Archive, Report]) -> None:
    archive, _ = built
    folder = archive.index_dir / store.CURRENT
    assert (folder / "duplicates.json").is_file() and (folder / "signatures.npy").is_file()
    loaded = store.load(archive.index_dir)
    assert loaded.groups == archive.reader.index.groups and loaded.groups
    assert (loaded.signatures == archive.reader.index.signatures).all()


def test_a_new_article_hashes_only_itself_and_keeps_the_groups(
    built: tuple[Archive, Report], tmp_path: Path
) -> None:
    archive, _ = built
    before = archive.reader.index
    kept = {name: part.signatures for name, part in before.files.items()}
    text = (BBC / "politics_001.txt").read_text(encoding="utf-8")
    publish.publish(archive, publish.article_from("politics_001.txt", text), replace=False)
    after = archive.reader.index
    assert all(after.files[name].signatures is sigs for name, sigs in kept.items())
    assert len(after.groups) == len(before.groups)
    assert publish.reconcile(archive.index_dir, archive.embedder) is None  # copies agree too


def test_withdrawing_a_copy_or_its_original_keeps_the_other(built: tuple[Archive, Report]) -> None:
    archive, _ = built
    publish.withdraw(archive, "tech_003_again.txt")
    assert archive.reader.index.files["tech_003.txt"].copies == ("tech_036.txt",)
    publish.withdraw(archive, "tech_003.txt")
    index = archive.reader.index
    assert "tech_003.txt" not in index.files and index.files["tech_036.txt"].copies == ()
    answer = archive.reader.ask("What is Microsoft investigating?", top_k=1).answers[0]
    assert (answer.citation.file, answer.also_in) == ("tech_036.txt", ())
    assert publish.reconcile(archive.index_dir, archive.embedder) is None


def test_the_form_chat_and_cli_lines_name_the_copies(built: tuple[Archive, Report]) -> None:
    archive, _ = built
    first = archive.reader.ask(QUESTION, top_k=3).answers[0]
    line = also_in_line(first)
    assert line is not None and line.startswith("Also in: ")
    assert "Lifestyle 'governs mobile choice' · tech_225.txt ¶4" in line
    reply = markdown_message(archive.reader.ask(QUESTION, top_k=3), "https://news.example")
    assert "Also in: " in reply and "tech\\_225.txt ¶4" not in reply  # `_` inside a word stays
    assert "tech_225.txt ¶4" in reply
