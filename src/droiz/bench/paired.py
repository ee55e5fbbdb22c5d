"""Paired comparisons over seeds: mean difference, bootstrap interval, wins/ties/losses.

The interval is the percentile bootstrap of the mean paired difference: ``N_BOOT`` = 10,000
resamples of the seeds with replacement, drawn by ``numpy.random.default_rng(BOOT_SEED)`` with
``BOOT_SEED = 0``, so the same differences always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

N_BOOT = 10_000
BOOT_SEED = 0
TIE = 0.01  # one point of accuracy
_SLACK = 1e-9  # differences of exactly one point (3/300 - 0.0) count as ties despite rounding


def paired(
    a: Sequence[float],
    b: Sequence[float],
    tie: float = TIE,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> dict[str, float | list[float] | int]:
    """``a - b`` per seed: mean, 95% percentile-bootstrap interval, wins, ties and losses of ``a``.

    Args:
        a, b: One value per seed, paired by position (same length, at least 1).
        tie: A difference with ``|a - b| <= tie`` is a tie.

    Returns:
        ``{"mean": float, "ci95": [lo, hi], "wins": int, "ties": int, "losses": int}``.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diff.ndim != 1 or len(diff) == 0 or len(a) != len(b):
        raise ValueError(
            f"paired() needs two equally long non-empty sequences, got {len(a)}, {len(b)}"
        )
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(-1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    wins = int((diff > tie + _SLACK).sum())
    losses = int((diff < -tie - _SLACK).sum())
    return {
        "mean": float(diff.mean()),
        "ci95": [float(lo), float(hi)],
        "wins": wins,
        "ties": len(diff) - wins - losses,
        "losses": losses,
    }


def paired_line(label: str, stats: dict, n: int, unit: float = 100.0) -> str:
    """One line: ``label: +4.8 points, 95% CI [-2.1, +11.5] ..., wins/ties/losses 10/3/7``."""
    lo, hi = stats["ci95"]
    return (
        f"{label}: {unit * stats['mean']:+.1f} points, 95% CI [{unit * lo:+.1f}, {unit * hi:+.1f}] "
        f"(paired bootstrap over {n} seed(s)); wins/ties/losses {stats['wins']}/{stats['ties']}/"
        f"{stats['losses']} (tie: within {unit * TIE:g} point)"
    )
