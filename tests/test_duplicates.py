"""Near-copy paragraphs: which are grouped, which are not, and who leads."""

from __future__ import annotations

from datetime import date

import numpy as np

from app.archive import duplicates
from app.archive.corpus import parse_article
from app.archive.ingest import once_each

STORY = (
    "Consumers are far more interested in how handsets fit in with their lifestyle than they "
    "are in screen size, onboard memory or the chip inside, shows an in-depth study by handset "
    "maker Ericsson. The study of 14,000 people in 14 countries found that phones are chosen "
    "for how they look and what they say about the owner, not for what is under the lid."
)


def grouped(*texts: str) -> list[list[int]]:
    return duplicates.groups(texts, duplicates.signatures(texts))


def test_a_near_copy_is_grouped() -> None:
    wire = STORY.replace("handset maker Ericsson", "telecommunications company Ericsson")
    assert grouped(STORY, wire) == [[0, 1]]


def test_a_word_for_word_copy_is_grouped_and_a_stranger_is_not() -> None:
    other = "The match was abandoned after twenty minutes because of a waterlogged pitch at home."
    assert grouped(other, STORY, STORY) == [[1, 2]]


def test_the_same_story_with_other_figures_is_not_grouped() -> None:
    # One figure changed: the words alone are alike enough (J about 0.9).
    updated = STORY.replace("14,000 people", "16,000 people")
    assert duplicates.jaccard(duplicates.shingles(STORY), duplicates.shingles(updated)) > 0.8
    assert grouped(STORY, updated) == []


def test_a_paragraph_that_only_shares_a_sentence_is_not_grouped() -> None:
    # LSH proposes the pair; the exact Jaccard (about 0.5) refuses it.
    first, second = STORY.split(". The study")
    other = first + ". Sales of the new model rose sharply in the run-up to Christmas, it said."
    texts = [STORY, other]
    sigs = duplicates.signatures(texts)
    assert grouped(*texts) == []
    assert all(score < 0.8 for *_, score in duplicates.scored_pairs(texts, sigs))


def test_short_paragraphs_are_never_grouped() -> None:
    assert grouped("Ends.", "Ends.") == []
    assert grouped("LONDON, 3 June (Reuters)", "LONDON, 3 June (Reuters)") == []
    sigs = duplicates.signatures(["Ends.", STORY])
    assert not sigs[0].any() and sigs[1].any()


def test_signatures_are_the_same_each_time_and_one_row_per_text() -> None:
    a, b = duplicates.signatures([STORY, "Ends."]), duplicates.signatures([STORY, "Ends."])
    assert a.shape == (2, duplicates.DEFAULT.num_perm) and a.dtype == np.uint64
    assert np.array_equal(a, b)


def test_the_earliest_published_leads_then_the_first_by_name() -> None:
    places = [("c.txt", 3), ("a.txt", 3), ("b.txt", 5), ("d.txt", 2)]
    days = {"c.txt": date(2005, 1, 2), "d.txt": date(2005, 1, 1)}
    order = duplicates.lead_first(range(4), lambda m: days.get(places[m][0]), lambda m: places[m])
    assert [places[m][0] for m in order] == ["d.txt", "c.txt", "a.txt", "b.txt"]


def test_groups_round_trip_through_json_and_refuse_other_settings() -> None:
    places = [("a.txt", 2), ("b.txt", 2)]
    saved = duplicates.to_json([[1, 0]], places)
    rows = {place: i for i, place in enumerate(places)}
    assert duplicates.from_json(saved, rows) == [[1, 0]]
    assert duplicates.from_json({**saved, "settings": {"threshold": 0.5}}, rows) is None
    assert duplicates.from_json(saved, {("a.txt", 2): 0}) is None


def test_exact_copy_files_are_kept_once_by_first_name() -> None:
    text = f"A headline\n\n{STORY}\n"
    articles = [parse_article(n, text) for n in ("sport_010.txt", "sport_003.txt", "x.txt")]
    articles.append(parse_article("other.txt", "Other\n\n" + STORY.replace("14", "15") + "\n"))
    kept, copies = once_each(articles)
    assert sorted(a.file for a in kept) == ["other.txt", "sport_003.txt"]
    assert copies == {"sport_003.txt": ("sport_010.txt", "x.txt")}
