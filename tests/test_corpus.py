from pathlib import Path

import pytest

from app.archive.corpus import (
    WINDOW_WORDS,
    chunk_article,
    classify,
    corpus_files,
    parse_article,
    read_article,
    read_text,
    split_blocks,
)
from app.errors import BadDocument

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FIRST = SEEDS / "000_383fbfdafa3fa088.txt"
SECOND = SEEDS / "003_2876eb5f33050c79.txt"


def test_seed_paragraphs_are_numbered_like_a_person_counts_them():
    article = read_article(FIRST)
    assert len(article.paragraphs) == 31
    by_number = {p.number: p for p in article.paragraphs}
    assert by_number[1].text == "fbpx"
    assert "approximately €200 million" in by_number[10].text
    assert by_number[24].text.startswith("Still, the administration is tight-lipped")
    assert [p.number for p in article.paragraphs] == list(range(1, 32))


def test_seed_offsets_slice_back_to_the_paragraph_text():
    for path in (FIRST, SECOND):
        text = read_text(path)
        article = parse_article(path.name, text)
        for p in article.paragraphs:
            assert text[p.start : p.end] == p.text
            assert p.text == p.text.strip()


def test_boilerplate_is_kept_numbered_but_not_indexed():
    article = read_article(FIRST)
    kinds = {p.number: p.kind for p in article.paragraphs}
    assert kinds[1] == "boilerplate"  # the fbpx tracker line
    assert kinds[9] == "boilerplate"  # a caption printed twice
    assert kinds[16] == "boilerplate"  # a caption and its near copy
    indexed = {c.paragraph for c in chunk_article(article)}
    assert not indexed & {1, 9, 16}
    assert 10 in indexed


def test_headings_give_their_section_and_the_title_to_the_paragraphs_under_them():
    article = read_article(SECOND)
    assert article.title == "Balkan Deals EXPOSED — What’s Really Behind Them?"
    fifteen = next(p for p in article.paragraphs if p.number == 15)
    assert fifteen.section == "Financial Incentives and Humanitarian Concerns"
    chunk = next(c for c in chunk_article(article) if c.paragraph == 15)
    assert chunk.context.startswith(article.title)
    assert "Financial Incentives" in chunk.context


def test_a_title_comes_from_the_file_name_when_the_article_has_none():
    body = "A long first paragraph that is clearly body text. It has sentences.\n"
    assert parse_article("Super_Bowl_50.txt", body).title == "Super Bowl 50"


@pytest.mark.parametrize(
    ("block", "kind"),
    [
        ("fbpx", "boilerplate"),
        ("Key Takeaways", "heading"),
        ("Why Kosovo? A Case of Economic Pragmatism", "heading"),
        ("Fifty migrants. One impoverished Balkan nation.", "body"),
        ("ok", "boilerplate"),
    ],
)
def test_blocks_are_classified(block, kind):
    assert classify(block) == kind


def test_crlf_bom_and_invisible_characters_keep_offsets_exact():
    text = (
        "\ufeffTitle line here\r\n\r\nFirst para\u00a0with nbsp.\r\n  \t\r\n\u200bSecond para ends"
    )
    blocks = split_blocks(text)
    assert [text[s:e] for s, e in blocks] == [
        "Title line here",
        "First para\u00a0with nbsp.",
        "Second para ends",
    ]


def test_a_long_paragraph_is_windowed_and_every_window_keeps_its_number():
    words = " ".join(f"word{i}." for i in range(WINDOW_WORDS * 3))
    text = f"Headline\n\n{words}\n"
    article = parse_article("long.txt", text)
    chunks = chunk_article(article)
    assert len(chunks) > 2
    assert {c.paragraph for c in chunks} == {2}
    for c in chunks:
        assert text[c.start : c.end] == c.text
    assert chunks[0].end > chunks[1].start  # windows overlap


def test_unreadable_files_are_reported_by_name(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "empty.md").write_text("  \n\n ")
    with pytest.raises(BadDocument, match="latin1.txt: not UTF-8"):
        read_text(tmp_path / "latin1.txt")
    with pytest.raises(BadDocument, match="empty.md: empty"):
        read_text(tmp_path / "empty.md")


def test_only_txt_and_md_files_are_articles(tmp_path):
    for name in ("a.txt", "b.md", "c.pdf", "d.json"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.txt", "b.md"]


def test_a_line_of_spaces_and_zero_width_characters_is_blank():
    # Found by hypothesis: such a line used to open a block that trimmed down to nothing.
    assert split_blocks("\u200b \u200b \u200b") == []
    text = "Ferry runs.\n\u200b \u2060 \u200b\nCrew waits."
    assert [text[s:e] for s, e in split_blocks(text)] == ["Ferry runs.", "Crew waits."]
