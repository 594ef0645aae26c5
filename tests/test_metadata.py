"""Front matter: valid, broken and missing; fields checked one by one; paragraphs count the body."""

from __future__ import annotations

from datetime import date

from app.archive.corpus import parse_article
from app.archive.metadata import Meta, front_matter_text, iso_date, meta_from, read_front_matter

DATED = """---
title: Kosovo agrees to take in deportees
published: 2025-06-01
updated: 2025-06-02T09:30:00+02:00
author: [Ana Lopez, Ben Ode]
section: World
source: The Daily Ledger
url: https://ledger.example/kosovo-deal
id: ledger-1042
---

Kosovo agrees to take in deportees

Denmark will pay Kosovo 200 million euros to house prisoners.

A second paragraph of the body, with enough words.
"""


def test_front_matter_gives_every_field():
    meta = read_front_matter("a.md", DATED).meta
    assert meta == Meta(
        title="Kosovo agrees to take in deportees",
        published="2025-06-01",
        updated="2025-06-02T09:30:00+02:00",
        authors=("Ana Lopez", "Ben Ode"),
        section="World",
        source="The Daily Ledger",
        url="https://ledger.example/kosovo-deal",
        id="ledger-1042",
    )
    assert meta.author == "Ana Lopez, Ben Ode"
    assert meta.published_on == date(2025, 6, 1)
    assert meta.updated_on == date(2025, 6, 2)


def test_front_matter_is_not_a_paragraph_and_offsets_stay_in_the_file():
    article = parse_article("a.md", DATED)
    assert [p.number for p in article.paragraphs] == [1, 2, 3]
    assert article.paragraphs[1].text.startswith("Denmark will pay")
    for p in article.paragraphs:
        assert DATED[p.start : p.end] == p.text
    assert article.title == "Kosovo agrees to take in deportees"
    assert article.warnings == ()


def test_a_file_without_front_matter_is_read_as_before():
    text = "Headline here\n\nA body paragraph of several words here.\n"
    article = parse_article("plain.txt", text)
    assert article.meta == Meta()
    assert [p.number for p in article.paragraphs] == [1, 2]
    assert article.title == "Headline here"


def test_a_bad_date_is_reported_by_file_and_field_and_left_out():
    text = "---\ntitle: T\npublished: last tuesday\n---\n\nA body paragraph of several words.\n"
    article = parse_article("bad.md", text)
    assert article.meta.title == "T"
    assert article.meta.published is None
    warning = "bad.md: field 'published': 'last tuesday' is not an ISO 8601 date"
    assert article.warnings == (warning,)


def test_broken_yaml_is_reported_and_the_body_still_indexed():
    text = "---\ntitle: [unclosed\n---\n\nA body paragraph of several words.\n"
    article = parse_article("broken.md", text)
    assert article.meta == Meta()
    assert "broken.md: front matter is not YAML" in article.warnings[0]
    assert [p.text for p in article.body] == ["A body paragraph of several words."]


def test_an_unclosed_block_is_reported_and_read_as_text():
    text = "---\ntitle: T\n\nA body paragraph of several words.\n"
    article = parse_article("open.md", text)
    assert article.warnings == ("open.md: front matter has no closing '---' line",)
    assert article.body[-1].text == "A body paragraph of several words."


def test_a_list_of_authors_must_be_names():
    meta, warnings = meta_from({"author": [1, 2], "title": "T"}, file="x.md")
    assert meta.authors == () and meta.title == "T"
    assert warnings == ["x.md: field 'author' is not a name or a list of names"]


def test_iso_dates_are_normalised_and_others_refused():
    assert iso_date("2024-02-29") == "2024-02-29"
    assert iso_date("2024-02-29T10:00:00Z") == "2024-02-29T10:00:00+00:00"
    assert iso_date("2023-02-29") is None
    assert iso_date("June 2024") is None
    assert iso_date(7) is None


def test_written_front_matter_reads_back_the_same():
    meta = read_front_matter("a.md", DATED).meta
    text = front_matter_text(meta) + "A body paragraph of several words.\n"
    again = read_front_matter("b.md", text)
    assert again.meta == meta and again.warnings == ()
    assert front_matter_text(Meta()) == ""
