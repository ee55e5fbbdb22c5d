"""Paired statistics of the benchmarks: hand-computed cases."""

from __future__ import annotations

import pytest

from droiz.bench.paired import paired, paired_line


def test_mean_and_wins_ties_losses_by_hand() -> None:
    a = [0.50, 0.60, 0.70, 0.80, 0.51]
    b = [0.50, 0.58, 0.75, 0.60, 0.50]  # differences 0, +0.02, -0.05, +0.20, +0.01 (a tie)
    stats = paired(a, b)
    assert stats["mean"] == pytest.approx((0.0 + 0.02 - 0.05 + 0.20 + 0.01) / 5)
    assert (stats["wins"], stats["ties"], stats["losses"]) == (2, 2, 1)
    lo, hi = stats["ci95"]
    assert -0.05 <= lo <= stats["mean"] <= hi <= 0.20
    assert paired(a, b) == stats  # fixed bootstrap seed: reproducible


def test_bootstrap_interval_by_hand() -> None:
    # two seeds with differences 0 and 1: resampled means are 0, 0.5, 1 with probability
    # 1/4, 1/2, 1/4, so the 2.5% and 97.5% percentiles are 0 and 1
    assert paired([0.0, 1.0], [0.0, 0.0])["ci95"] == [0.0, 1.0]
    constant = paired([0.7, 0.8, 0.9], [0.6, 0.7, 0.8])
    assert constant["ci95"] == pytest.approx([0.1, 0.1]) and constant["wins"] == 3
    single = paired([0.4], [0.5])
    assert single["ci95"] == pytest.approx([-0.1, -0.1]) and single["losses"] == 1


def test_rejects_unpaired_input_and_formats_one_line() -> None:
    with pytest.raises(ValueError, match="equally long"):
        paired([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="equally long"):
        paired([], [])
    line = paired_line("DRO - EI", paired([0.7, 0.6], [0.6, 0.6]), 2)
    assert line.startswith("DRO - EI: +5.0 points, 95% CI [")
    assert "wins/ties/losses 1/1/0" in line and "\n" not in line
