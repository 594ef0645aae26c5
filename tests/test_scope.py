"""Date words in questions read into a scope, against a fixed day; the newest rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from app.reader.scope import Filters, narrow, newest_first, newest_marks, read

AS_OF = date(2025, 3, 1)
D = date


@pytest.mark.parametrize(
    ("question", "after", "before", "words"),
    [
        ("What was the level in 2022?", D(2022, 1, 1), D(2023, 1, 1), "in 2022"),
        ("What was the level last year?", D(2024, 1, 1), D(2025, 1, 1), "last year"),
        ("What changed since June?", D(2024, 6, 1), None, "since June"),
        ("How full was it before 2020?", None, D(2020, 1, 1), "before 2020"),
        ("What happened this week?", D(2025, 2, 24), D(2025, 3, 3), "this week"),
        ("What was said this month?", D(2025, 3, 1), D(2025, 4, 1), "this month"),
        ("What was it in May 2024?", D(2024, 5, 1), D(2024, 6, 1), "in May 2024"),
        ("What was said after March 2024?", D(2024, 4, 1), None, "after March 2024"),
        ("Spent between 2022 and 2023?", D(2022, 1, 1), D(2024, 1, 1), "between 2022 and 2023"),
    ],
)  # fmt: skip
def test_a_date_phrase_gives_its_range(question, after, before, words):
    scope = read(question, AS_OF)
    assert scope is not None
    assert (scope.published_after, scope.published_before, scope.phrase) == (after, before, words)
    assert scope.prefer is None


@pytest.mark.parametrize(
    "question", ["What was the 2022 budget?", "Who may speak?", "How much did Denmark pay?"]
)
def test_a_year_or_month_without_a_preposition_is_left_alone(question):
    assert read(question, AS_OF) is None


@pytest.mark.parametrize("word", ["latest", "most recent", "newest", "now"])
def test_newest_words_prefer_the_newest(word):
    scope = read(f"What is the {word} level?", AS_OF)
    assert scope is not None and scope.prefer == "newest" and not scope.has_range


def test_both_readings_keep_both_phrases():
    scope = read("What was the latest figure in 2023?", AS_OF)
    assert scope is not None and scope.prefer == "newest"
    assert (scope.published_after, scope.phrase) == (D(2023, 1, 1), "in 2023, latest")


def test_narrow_lays_the_scope_over_the_filters():
    scope = read("What was it in 2023?", AS_OF)
    both = narrow(Filters(published_after=D(2023, 6, 1), section="Politics"), scope)
    assert (both.published_after, both.published_before) == (D(2023, 6, 1), D(2024, 1, 1))
    assert both.section == "Politics"


def test_newest_leads_among_close_scores_only():
    scores = np.array([0.5, 0.3, 0.0001])
    assert newest_first(scores, [10, 20, 30]) == [1, 0, 2]  # 0.0001 is not close to 0.5
    assert newest_first(scores, [30, 20, -1]) == [0, 1, 2]


def test_the_newest_mark_needs_differently_dated_answers():
    assert newest_marks([5, 9, 9, -1]) == [False, True, True, False]
    assert newest_marks([5, 5]) == [False, False]
    assert newest_marks([-1, -1]) == [False, False]
