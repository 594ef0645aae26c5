"""What a reporter cites: headline, outlet, date, and the line to paste."""

from __future__ import annotations

from app.archive.metadata import Meta
from app.citations import about, answer_line, byline, copy_line, human_date, label, original_link
from app.reader.answer import Answer, Citation

LEDGER = Meta(
    published="2025-06-01T23:30:00-02:00",
    source="The Daily Ledger",
    url="https://ledger.example/kosovo",
    authors=("Ana Lopez",),
    section="World",
)


def test_dates_read_as_a_story_is_dated():
    assert human_date("2025-06-01") == "1 Jun 2025"
    assert human_date("2025-06-01T23:30:00-02:00") == "2 Jun 2025"  # that moment in UTC
    assert human_date(None) is None


def test_byline_names_only_what_the_archive_knows():
    assert byline("Deal signed", LEDGER) == "Deal signed, The Daily Ledger, 2 Jun 2025"
    assert byline("Deal signed", Meta()) == "Deal signed"


def test_copy_line_quotes_the_sentence_and_links_the_original_story():
    line = copy_line("Denmark will\npay.", "Deal signed", LEDGER, 15, "http://x/documents/a.md")
    assert line == (
        '"Denmark will pay." — Deal signed, The Daily Ledger, 2 Jun 2025, ¶15, '
        "https://ledger.example/kosovo"
    )


def test_copy_line_links_our_paragraph_when_there_is_no_original():
    answer = Answer("pay", "Denmark will pay.", 0.9, Citation("a.txt", 3, 0, 3, "Deal"), "p")
    assert answer_line(answer, "http://x/documents/a.txt#p3") == (
        '"Denmark will pay." — Deal, ¶3, http://x/documents/a.txt#p3'
    )


def test_only_web_addresses_become_links():
    assert original_link(Meta(url="javascript:alert(1)")) is None
    assert original_link(Meta(url="HTTPS://ledger.example/a")) == "HTTPS://ledger.example/a"


def test_label_keeps_the_file_name_as_the_stable_id():
    citation = Citation("a.md", 15, 0, 3, "Deal signed", LEDGER)
    assert label(citation) == "Deal signed, The Daily Ledger, 2 Jun 2025 · a.md ¶15"
    assert label(Citation("a.md", 15, 0, 3)) == "a.md ¶15"


def test_document_view_line_lists_outlet_dates_and_byline():
    meta = Meta(published="2025-06-01", updated="2025-06-03", source="Ledger", authors=("A", "B"))
    assert about(meta) == ["Ledger", "Published 1 Jun 2025", "Updated 3 Jun 2025", "By A, B"]
