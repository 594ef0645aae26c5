"""Reliability bins, expected calibration error and the share right among confident answers."""

import math

import pytest

from app import trust


def test_reliability_bins_count_answers_and_share_right():
    scores = [0.05, 0.15, 0.95, 0.92, 0.91, 1.0]
    right = [0, 0, 1, 1, 0, 1]
    bins = trust.reliability(scores, right)
    assert [(b["low"], b["answers"]) for b in bins] == [(0.0, 1), (0.1, 1), (0.9, 4)]
    assert bins[-1]["right"] == pytest.approx(0.75)
    assert bins[-1]["mean_score"] == pytest.approx((0.95 + 0.92 + 0.91 + 1.0) / 4)


def test_a_calibrated_score_has_no_calibration_error_and_an_overconfident_one_does():
    assert trust.expected_calibration_error([0.5, 0.5], [1, 0]) == pytest.approx(0.0)
    assert trust.expected_calibration_error([0.99, 0.99], [0, 0]) == pytest.approx(0.99)
    assert math.isnan(trust.expected_calibration_error([], []))


def test_confident_right_counts_only_answers_scored_at_or_above_the_bar():
    assert trust.confident_right([0.95, 0.9, 0.5], [1, 0, 1]) == (0.5, 2)
    share, n = trust.confident_right([0.2], [1])
    assert n == 0 and math.isnan(share)


def test_the_table_and_plot_are_written(tmp_path):
    bins = trust.reliability([0.1, 0.8, 0.85], [0, 1, 0])
    text = trust.table(bins)
    assert "| 0.8-0.9 | 2 | 0.825 | 0.500 |" in text
    trust.plot(bins, tmp_path / "r.png", "t")
    assert (tmp_path / "r.png").stat().st_size > 1000
