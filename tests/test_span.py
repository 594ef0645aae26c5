"""Short-answer candidates and their features, on a hand-made passage."""

from app.span import SPAN_FEATURES, asks, candidates, features
from app.store import Passage

TEXT = "Denmark paid Kosovo about €200 million in 2022. It was a deal."


def _passage() -> Passage:
    return Passage(
        file="a.txt",
        paragraph=1,
        title="A",
        section="",
        start=100,
        end=100 + len(TEXT),
        text=TEXT,
        sentences=((100, 147), (148, 162)),
        entities=((100, 107, "GPE"), (113, 119, "GPE"), (120, 137, "MONEY"), (141, 145, "DATE")),
        phrases=((100, 107), (156, 161)),
    )


def test_asks_reads_the_question_word():
    assert asks("How much did Denmark pay?") == "how_many"
    assert asks("When did it happen?") == "when"
    assert asks("Name the deal.") == "other"


def test_candidates_stay_in_the_sentence_and_skip_question_words():
    found = candidates(_passage(), (100, 147), {"denmark", "pay", "kosovo"})
    assert [(s, e, label) for s, e, label in found] == [(120, 137, "MONEY"), (141, 145, "DATE")]


def test_candidates_do_not_repeat_a_span_as_a_phrase():
    found = candidates(_passage(), (100, 147))
    assert [label for _, _, label in found].count("GPE") == 2
    assert (100, 107, "PHRASE") not in found


def test_features_mark_the_asked_type_and_cross_question_with_label():
    passage = _passage()
    found = candidates(passage, (100, 147), {"denmark", "kosovo"})
    rows = features(
        passage, (100, 147), found, {"denmark", "kosovo"}, "how_many", frozenset({"MONEY"})
    )
    assert rows.shape == (len(found), len(SPAN_FEATURES))
    assert rows[0, SPAN_FEATURES.index("typed_match")] == 1.0
    assert rows[1, SPAN_FEATURES.index("typed_match")] == 0.0
    assert rows[0, SPAN_FEATURES.index("how_manyxMONEY")] == 1.0
    assert rows[1, SPAN_FEATURES.index("how_manyxDATE")] == 1.0
