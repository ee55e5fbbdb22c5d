"""Paired statistics of the benchmarks: hand-computed cases."""

from __future__ import annotations

import statistics

import pytest

from droiz.bench.paired import compare


def test_mean_and_wins_ties_losses_by_hand() -> None:
    a = [0.50, 0.60, 0.70, 0.80, 0.51]
    b = [0.50, 0.58, 0.75, 0.60, 0.50]  # differences 0, +0.02, -0.05, +0.20, +0.01 (a tie)
    stats = compare("a", "b", "m", a, b)
    assert stats["diff"] == pytest.approx(100 * (0.0 + 0.02 - 0.05 + 0.20 + 0.01) / 5)
    assert (stats["wins"], stats["ties"], stats["losses"]) == (2, 2, 1)
    lo, hi = stats["ci"]
    assert -5.0 <= lo <= stats["diff"] <= hi <= 20.0
    assert compare("a", "b", "m", a, b) == stats  # fixed bootstrap seed: reproducible


def test_bootstrap_interval_by_hand() -> None:
    # two seeds with differences 0 and 1: resampled means are 0, 0.5, 1 with probability
    # 1/4, 1/2, 1/4, so the 2.5% and 97.5% percentiles are 0 and 1 (0 and 100 points)
    assert compare("a", "b", "m", [0.0, 1.0], [0.0, 0.0])["ci"] == [0.0, 100.0]
    constant = compare("a", "b", "m", [0.7, 0.8, 0.9], [0.6, 0.7, 0.8])
    assert constant["ci"] == pytest.approx([10.0, 10.0]) and constant["wins"] == 3
    single = compare("a", "b", "m", [0.4], [0.5])
    assert single["ci"] == pytest.approx([-10.0, -10.0]) and single["losses"] == 1


def test_rejects_unpaired_input() -> None:
    with pytest.raises(ValueError, match="equally long"):
        compare("a", "b", "m", [0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="equally long"):
        compare("a", "b", "m", [], [])


def test_compare_states_points_mdd_and_the_verdict_by_hand() -> None:
    points = [10.0, 10.0, 5.0, 15.0] * 3  # a - b in points, 12 pairs
    b = [0.5] * 12
    a = [0.5 + d / 100 for d in points]
    c = compare("dro", "ei", "worst_group_acc", a, b)
    assert (c["a"], c["b"], c["metric"], c["n"]) == ("dro", "ei", "worst_group_acc", 12)
    assert c["diff"] == pytest.approx(10.0)
    assert c["mdd"] == pytest.approx(2.80 * statistics.stdev(points) / 12**0.5)
    assert c["ci"][0] > 0 and c["verdict"] == "win"
    assert compare("a", "b", "m", b, a)["verdict"] == "loss"
    level = compare("a", "b", "m", [0.50, 0.51, 0.49, 0.50] * 3, [0.50, 0.50, 0.50, 0.505] * 3)
    assert level["verdict"] == "equivalent"  # the 90% interval lies inside +-3 points
    wide = compare("a", "b", "m", [0.9, 0.1, 0.5] * 4, [0.1, 0.9, 0.5] * 4)
    assert wide["verdict"] == "inconclusive"
    few = compare("a", "b", "m", a[:9], b[:9])
    assert few["ci"][0] > 0 and few["verdict"] == "too few pairs"
    assert compare("a", "b", "m", [0.5], [0.4])["mdd"] is None
    assert (c["wins"], c["ties"], c["losses"]) == (12, 0, 0)
