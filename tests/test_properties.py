"""Property tests of paragraph splitting and offsets on random text (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.archive.corpus import chunk_article, parse_article, split_blocks

# The pieces articles are made of, weighted towards the awkward ones.
PIECES = [
    "word", "Kosovo", "é", "naïve", "—", ".", ",", " ", "  ", "\t", "\xa0", "\u200b", "\ufeff",
    "\u2060", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", " \n \n", "\u200b\n\u200b\n", "# Heading",
    "The council voted on Monday.",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)
words = st.lists(st.sampled_from(["tide", "ferry", "Quay", "crew", "9"]), min_size=1)


def _invisible_or_space(char: str) -> bool:
    return char.isspace() or char in "\ufeff\u200b\u200c\u200d\u2060"


@given(texts)
def test_blocks_are_ordered_disjoint_and_trimmed(text: str) -> None:
    blocks = split_blocks(text)
    for (_, end), (next_start, _) in zip(blocks, blocks[1:], strict=False):
        assert end <= next_start
    for start, end in blocks:
        assert 0 <= start < end <= len(text)
        block = text[start:end]
        assert not _invisible_or_space(block[0]) and not _invisible_or_space(block[-1])


@given(texts)
def test_every_visible_character_lands_in_a_block(text: str) -> None:
    covered = set()
    for start, end in split_blocks(text):
        covered.update(range(start, end))
    assert all(i in covered for i, char in enumerate(text) if not _invisible_or_space(char))


@given(texts)
def test_paragraphs_are_numbered_from_one_and_slice_back(text: str) -> None:
    article = parse_article("random.txt", text)
    assert [p.number for p in article.paragraphs] == list(range(1, len(article.paragraphs) + 1))
    for paragraph in article.paragraphs:
        assert text[paragraph.start : paragraph.end] == paragraph.text


@given(texts)
def test_chunks_slice_back_to_the_file_text(text: str) -> None:
    article = parse_article("random.md", text)
    for chunk in chunk_article(article):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.paragraph in {p.number for p in article.body}


@settings(max_examples=25)
@given(st.integers(min_value=150, max_value=700), words)
def test_one_enormous_paragraph_is_covered_by_overlapping_windows(n: int, vocab: list[str]) -> None:
    body = " ".join(vocab[i % len(vocab)] for i in range(n))
    text = f"\ufeffHeadline\r\n\r\nThe {body} ended.\r\n"
    article = parse_article("huge.txt", text)
    (paragraph,) = article.body
    chunks = chunk_article(article)
    assert chunks[0].start == paragraph.start and chunks[-1].end == paragraph.end
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end, "windows overlap, so no sentence is cut out"
