"""Short-answer candidates and their features, on a hand-made passage."""

from dataclasses import replace

import numpy as np

from app.archive.store import Passage
from app.reader.question import Question, parse
from app.reader.span import candidates, choose, clauses, options
from app.reader.span_features import SPAN_FEATURES, features

TEXT = "Denmark paid Kosovo about €200 million in 2022. It was a deal."


def _passage(money: tuple[int, int] = (120, 137), date: tuple[int, int] = (141, 145)) -> Passage:
    return Passage(
        file="a.txt",
        paragraph=1,
        title="A",
        section="",
        start=100,
        end=100 + len(TEXT),
        text=TEXT,
        sentences=((100, 147), (148, 162)),
        entities=((100, 107, "GPE"), (113, 119, "GPE"), (*money, "MONEY"), (*date, "DATE")),
        phrases=((100, 107), (156, 161)),
    )


def test_candidates_stay_in_the_sentence_and_skip_question_words():
    found = candidates(_passage(), (100, 147), {"denmark", "pay", "kosovo"})
    assert [(s, e, label) for s, e, label in found] == [(120, 137, "MONEY"), (141, 145, "DATE")]


def test_candidates_do_not_repeat_a_span_as_a_phrase():
    found = candidates(_passage(), (100, 147))
    assert [label for _, _, label in found].count("GPE") == 2
    assert (100, 107, "PHRASE") not in found


RARE = {"kosovo": 5.0, "denmark": 4.0}


def _idf(word: str) -> float:
    return RARE.get(word, 1.0)


def _asked(question: str, words: set[str], types: set[str] = frozenset()) -> Question:
    """The question, with the words and types a test sets by hand."""
    stems = frozenset(w.rstrip("s") for w in words)
    return replace(parse(question), words=frozenset(words), terms=stems, types=frozenset(types))


def _column(rows: np.ndarray, name: str) -> list[float]:
    return rows[:, SPAN_FEATURES.index(name)].tolist()


def test_features_mark_the_asked_type_and_cross_question_with_label():
    passage = _passage()
    found = candidates(passage, (100, 147), {"denmark", "kosovo"})
    asked = _asked("How much did Denmark give Kosovo?", {"denmark", "kosovo"}, {"MONEY"})
    rows = features(passage, (100, 147), found, asked, _idf)
    assert rows.shape == (len(found), len(SPAN_FEATURES))
    assert _column(rows, "typed_match") == [1.0, 0.0]
    assert rows[0, SPAN_FEATURES.index("how_manyxMONEY")] == 1.0
    assert rows[1, SPAN_FEATURES.index("how_manyxDATE")] == 1.0


def test_features_see_the_question_words_around_a_span():
    # "Denmark paid Kosovo about €200 million in 2022."
    passage = _exact_passage()
    found = [(120, 138, "MONEY"), (142, 146, "DATE")]
    asked = _asked("How much did Denmark pay Kosovo?", {"denmark", "kosovo"})
    rows = features(passage, (100, 147), found, asked, _idf)
    assert _column(rows, "left_question_words") == [2.0, 1.0]  # five words each side
    assert _column(rows, "right_question_words") == [0.0, 0.0]
    # How many words back the nearest question word is: "Kosovo" right before "about €200
    # million", five words before "2022".
    assert _column(rows, "left_gap") == [1.0, 5.0]
    assert _column(rows, "right_gap") == [50.0, 50.0]
    # The IDF-weighted share of the question found left of the span: both of its words.
    assert _column(rows, "left_idf") == [1.0, 1.0]
    assert _column(rows, "year") == [0.0, 1.0]
    previous = _column(rows, "previous_word")
    assert previous[0] == 0.0 and previous[1] > 0  # "Kosovo" is no glue word, "in" is
    assert _column(rows, "contained") == [0.0, 0.0]


def test_features_count_nested_spans_and_the_asked_for_noun():
    passage = _exact_passage()
    found = [(120, 138, "MONEY"), (127, 138, "PHRASE")]  # "200 million" inside the money
    asked = _asked("Which million was paid?", {"million", "paid"})
    rows = features(passage, (100, 147), found, asked, _idf)
    assert _column(rows, "contained") == [1.0, 0.0]
    assert _column(rows, "containers") == [0.0, 1.0]
    assert _column(rows, "focus_near") == [1.0, 1.0]


def _exact_passage() -> Passage:
    """As _passage, with entity offsets that match the words exactly."""
    return _passage(money=(120, 138), date=(142, 146))


def test_clauses_give_the_words_after_the_question_words():
    passage = _passage()
    found = clauses(passage, (100, 147), {"paid", "kosovo"})
    assert ("about €200 million in 2022", "TAIL") in {
        (TEXT[s - 100 : e - 100], label) for s, e, label in found
    }


def test_options_always_slice_back_to_the_passage_text():
    passage = _exact_passage()
    for start, end, _ in options(passage, (100, 147), {"denmark"}):
        assert 100 <= start < end <= 147
        assert TEXT[start - 100 : end - 100].strip() == TEXT[start - 100 : end - 100]


def test_choose_prefers_the_span_the_top_candidates_share():
    texts = ["Fox News", "Fox News channel", "News", "Kosovo"]
    logits = np.array([1.0, 0.9, 0.95, 0.0])
    assert choose(texts, logits) == 0
    assert choose(["a", "b"], np.array([0.0, 5.0])) == 1
