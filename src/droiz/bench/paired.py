"""Paired comparisons over seeds: mean difference, bootstrap interval, wins/ties/losses.

The interval is the percentile bootstrap of the mean paired difference: ``N_BOOT`` = 10,000
resamples of the seeds with replacement, drawn by ``numpy.random.default_rng(BOOT_SEED)`` with
``BOOT_SEED = 0``, so the same differences always give the same interval.

:func:`compare` states a comparison the way the results do, "A − B = d [lo, hi], n pairs, MDD m"
and a verdict: the minimum detectable difference ``MDD = 2.80 SD / sqrt(n)`` (80% power at a
two-sided 5% level, SD the standard deviation of the paired differences), and ``win`` (the 95%
interval above 0), ``loss`` (below 0), ``equivalent`` (the 90% interval inside ±3 points, a
TOST at 5%) or ``inconclusive``; with fewer than ``MIN_PAIRS`` = 10 pairs the percentile
bootstrap covers too little to decide anything, and the verdict is ``too few pairs``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

N_BOOT = 10_000
BOOT_SEED = 0
TIE = 0.01  # one point of accuracy
MDD_FACTOR = 2.80  # z(0.975) + z(0.80)
EQUIVALENCE = 0.03  # three points of accuracy
MIN_PAIRS = 10
_SLACK = 1e-9  # differences of exactly one point (3/300 - 0.0) count as ties despite rounding


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diff.ndim != 1 or len(diff) == 0 or len(a) != len(b):
        raise ValueError(
            f"compare() needs two equally long non-empty sequences, got {len(a)}, {len(b)}"
        )
    return diff


def _boot_means(diff: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means: np.ndarray = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(-1)
    return means


def _counts(diff: np.ndarray, tie: float) -> tuple[int, int, int]:
    """Wins, ties and losses of ``a`` over the differences, a tie being ``|a - b| <= tie``."""
    wins = int((diff > tie + _SLACK).sum())
    losses = int((diff < -tie - _SLACK).sum())
    return wins, len(diff) - wins - losses, losses


def compare(
    a_name: str,
    b_name: str,
    metric: str,
    a: Sequence[float],
    b: Sequence[float],
    tie: float = TIE,
) -> dict[str, Any]:
    """``a - b`` paired by seed, in points (accuracies given as fractions, times 100), with
    ``a``'s wins/ties/losses at ``tie`` (a fraction, not points: ``|a - b| <= tie`` is a tie).

    Returns:
        ``{"a", "b", "metric", "diff", "ci": [lo, hi] (95%), "n", "mdd" (None for one pair),
        "ci90", "verdict", "wins", "ties", "losses"}`` (see the module docstring).
    """
    diff = _differences(a, b)
    n = len(diff)
    sd = float(diff.std(ddof=1)) if n > 1 else math.nan
    boot = _boot_means(diff, N_BOOT, BOOT_SEED)
    wins, ties, losses = _counts(diff, tie)
    out = summarise(a_name, b_name, metric, float(diff.mean()), boot, n, sd)
    return {**out, "wins": wins, "ties": ties, "losses": losses}


def summarise(
    a_name: str, b_name: str, metric: str, diff: float, boot: np.ndarray, n: int, sd: float
) -> dict[str, Any]:
    """A comparison in points from its mean difference ``diff``, the bootstrap distribution of
    that mean (``boot``), the number of pairs ``n`` and the standard deviation ``sd`` of one
    pair's difference (fractions of 1): the 95% and 90% percentile intervals, the minimum
    detectable difference ``2.80 sd / sqrt(n)`` and the verdict (see the module docstring).

    Returns:
        ``{"a", "b", "metric", "diff", "ci": [lo, hi], "n", "mdd" (None for one pair), "ci90",
        "verdict"}``.
    """
    lo, hi = np.percentile(boot, [2.5, 97.5])
    lo90, hi90 = np.percentile(boot, [5.0, 95.0])
    if n < MIN_PAIRS:
        verdict = "too few pairs"
    elif lo > 0:
        verdict = "win"
    elif hi < 0:
        verdict = "loss"
    elif lo90 >= -EQUIVALENCE - _SLACK and hi90 <= EQUIVALENCE + _SLACK:
        verdict = "equivalent"
    else:
        verdict = "inconclusive"
    return {
        "a": a_name,
        "b": b_name,
        "metric": metric,
        "diff": 100 * float(diff),
        "ci": [100 * float(lo), 100 * float(hi)],
        "n": n,
        "mdd": None if n < 2 else 100 * MDD_FACTOR * sd / math.sqrt(n),
        "ci90": [100 * float(lo90), 100 * float(hi90)],
        "verdict": verdict,
    }
