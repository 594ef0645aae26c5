"""Metric functions on hand-made cases."""

import math

import pytest

from app.metrics import (
    Outcome,
    exact_match,
    f1_score,
    gold_rank,
    normalize_answer,
    recall_at,
    reciprocal_rank,
    sentence_hit,
    summarize,
)


def test_normalize_answer_drops_case_punctuation_and_articles():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"


def test_exact_match_is_true_for_any_gold_after_normalising():
    assert exact_match("the Denver Broncos", ["Broncos", "Denver Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0


def test_f1_takes_the_best_gold():
    # "denver" vs "denver broncos": precision 1, recall 1/2 -> 2/3.
    assert f1_score("Denver", ["Carolina Panthers", "Denver Broncos"]) == pytest.approx(2 / 3)
    assert f1_score("nothing alike", ["Denver Broncos"]) == 0.0
    assert f1_score("", ["x"]) == 0.0


def test_sentence_hit_needs_whole_words():
    assert sentence_hit("It was played in 1999, in Kosovo.", ["1999"]) == 1.0
    assert sentence_hit("It cost 19990 euros.", ["1999"]) == 0.0
    assert sentence_hit("Anything", [""]) == 0.0


def test_gold_rank_is_one_based_and_none_when_missing():
    cited = [("a.txt", 2), ("b.txt", 5), ("a.txt", 3)]
    assert gold_rank(cited, [("a.txt", 3)]) == 3
    assert gold_rank(cited, [("b.txt", 5), ("a.txt", 2)]) == 1
    assert gold_rank(cited, [("c.txt", 1)]) is None


def test_recall_and_reciprocal_rank_respect_the_cutoff():
    assert recall_at(1, 1) == 1.0 and recall_at(2, 1) == 0.0 and recall_at(None, 5) == 0.0
    assert reciprocal_rank(4) == 0.25
    assert reciprocal_rank(11) == 0.0
    assert reciprocal_rank(None) == 0.0


def test_summarize_splits_answerable_from_unanswerable():
    outcomes = [
        Outcome(answerable=True, no_answer=False, rank=1, em=1.0, f1=1.0, sentence_hit=1.0),
        Outcome(answerable=True, no_answer=True, rank=3, em=0.0, f1=0.5, seconds=2.0),
        Outcome(answerable=False, no_answer=True, seconds=4.0),
        Outcome(answerable=False, no_answer=False),
    ]
    s = summarize("hybrid", outcomes)
    assert (s.questions, s.answerable) == (4, 2)
    assert s.r1 == 0.5 and s.r5 == 1.0
    assert s.mrr10 == pytest.approx((1 + 1 / 3) / 2)
    assert (s.em, s.f1, s.sentence_hit1) == (0.5, 0.75, 0.5)
    assert s.answered == 0.5
    assert s.no_answer_correct == 0.5
    assert s.recall_curve[1] == 0.5 and s.recall_curve[2] == 1.0
    assert s.p50 == 1.0


def test_summarize_without_unanswerable_questions_reports_nan():
    s = summarize("bm25", [Outcome(answerable=True, no_answer=False, rank=None)])
    assert s.r1 == 0.0
    assert math.isnan(s.no_answer_correct)
