"""The headroom check of an answer table: can choosing for the worst group beat choosing for the
mean on this task at all?

The dev pool's examples are split in two halves, the same way in every group that shares its
example ids (shift groups do), by a keyed hash of (example id, seed). On the *selection* half:

- the **best-mean** instruction maximises the uniform mean of its group accuracies (the first in
  pool order on ties);
- the **best worst-group** instruction maximises its worst-group accuracy, ties broken by the
  mean, then by pool order.

On the *held-out* half, the check reports the best worst-group instruction's worst group minus
the best-mean instruction's worst group, with a 95% percentile-bootstrap interval over the
held-out examples (resampled with replacement, jointly across groups when they share example
ids, else within each group; both instructions see the same resample). The selection is fixed.
A task **passes** when the interval's lower bound is above 0; when both criteria pick the same
instruction the difference is exactly 0 and the task fails.

The check also reports the same difference *in sample* (both picks and their worst groups on the
whole dev pool). It is biased upwards (the robust pick is chosen for the very worst group it is
scored on), so it only screens: a task whose in-sample difference is 0 has no headroom to find,
whatever the size of its dev pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from droiz.bench.paired import BOOT_SEED, N_BOOT
from droiz.exceptions import ConfigError
from droiz.tasks.keyed import keyed_unit


def split_halves(ids: Sequence[str], seed: int) -> tuple[list[int], list[int]]:
    """Positions of the selection half (the smaller, ``len // 2``) and of the held-out half."""
    order = sorted(range(len(ids)), key=lambda k: keyed_unit("headroom", str(ids[k]), seed))
    cut = len(ids) // 2
    return sorted(order[:cut]), sorted(order[cut:])


def picks(scores: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """``(best worst-group, best mean)`` instruction indices from ``{group: (I, N) scores}``."""
    acc = np.stack([np.asarray(s, dtype=np.float64).mean(axis=1) for s in scores.values()], 1)
    mean, worst = acc.mean(axis=1), acc.min(axis=1)
    best_mean = int(np.argmax(mean))
    robust = int(np.lexsort((-np.arange(len(mean)), mean, worst))[-1])
    return robust, best_mean


def headroom_check(
    scores: Mapping[str, Any],
    ids: Mapping[str, Sequence[str]],
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """The headroom check (see the module docstring) of dev-pool scores.

    Args:
        scores: ``{group: (instructions x examples) scores in [0, 1]}``.
        ids: ``{group: example ids}``, aligned with the columns of ``scores[group]``.
        seed: Seed of the split into halves (the table's seed).
        n_boot: Bootstrap resamples of the held-out half.

    Returns:
        ``passed``, ``diff`` and ``ci95`` (fractions of 1), the two picks (``robust_pick``,
        ``mean_pick``: pool indices) with their held-out worst group and mean, and the half
        sizes per group.
    """
    groups = list(scores)
    mats = {g: np.asarray(scores[g], dtype=np.float64) for g in groups}
    if not groups or any(m.ndim != 2 for m in mats.values()):
        raise ConfigError("the headroom check needs (instructions x examples) scores per group")
    n_inst = {m.shape[0] for m in mats.values()}
    if len(n_inst) != 1 or n_inst.pop() < 2:
        raise ConfigError("the headroom check needs the same 2 or more instructions per group")
    halves = {g: split_halves(list(ids[g]), seed) for g in groups}
    if any(len(sel) < 1 or len(out) < 1 for sel, out in halves.values()):
        raise ConfigError("the headroom check needs at least 2 dev examples in every group")
    robust, best_mean = picks({g: mats[g][:, halves[g][0]] for g in groups})
    held = {g: mats[g][:, halves[g][1]] for g in groups}

    def worst_of(i: int, cols: Mapping[str, np.ndarray]) -> np.ndarray:
        worst: np.ndarray = np.min([held[g][i][cols[g]].mean(axis=-1) for g in groups], axis=0)
        return worst

    rng = np.random.default_rng(BOOT_SEED)
    shared = len({tuple(str(x) for x in np.asarray(ids[g])[halves[g][1]]) for g in groups}) == 1
    if shared:
        n = held[groups[0]].shape[1]
        draw = rng.integers(0, n, size=(n_boot, n))
        cols = {g: draw for g in groups}
    else:
        sizes = {g: held[g].shape[1] for g in groups}
        cols = {g: rng.integers(0, sizes[g], size=(n_boot, sizes[g])) for g in groups}
    boot = worst_of(robust, cols) - worst_of(best_mean, cols)
    full = {g: np.arange(held[g].shape[1]) for g in groups}
    diff = float(worst_of(robust, full) - worst_of(best_mean, full))
    lo, hi = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    whole = {g: mats[g] for g in groups}
    in_robust, in_mean = picks(whole)
    in_acc = {g: whole[g].mean(axis=1) for g in groups}
    in_sample = min(in_acc[g][in_robust] for g in groups) - min(in_acc[g][in_mean] for g in groups)
    return {
        "passed": bool(lo > 0),
        "diff": diff,
        "ci95": [lo, hi],
        "robust_pick": robust,
        "mean_pick": best_mean,
        "heldout_worst_group": {
            "robust_pick": float(worst_of(robust, full)),
            "mean_pick": float(worst_of(best_mean, full)),
        },
        "heldout_mean": {
            "robust_pick": float(np.mean([held[g][robust].mean() for g in groups])),
            "mean_pick": float(np.mean([held[g][best_mean].mean() for g in groups])),
        },
        "n_select": {g: len(halves[g][0]) for g in groups},
        "n_heldout": {g: len(halves[g][1]) for g in groups},
        "n_boot": int(n_boot),
        "in_sample_diff": float(in_sample),
        "paired_ids": shared,
    }


def headroom_line(check: Mapping[str, Any], unit: float = 100.0) -> str:
    """One line: the difference, its interval, the picks and PASS or FAIL."""
    lo, hi = check["ci95"]
    n = ", ".join(f"{g} {k}" for g, k in check["n_heldout"].items())
    verdict = (
        "PASS"
        if check["passed"]
        else "FAIL (the interval's lower bound is not above 0: no measurable headroom for "
        "choosing by the worst group on this task)"
    )
    return (
        f"headroom check (held-out half of the dev pool, examples per group: {n}): worst group "
        f"of the best worst-group instruction #{check['robust_pick']} minus "
        f"that of the best-mean instruction #{check['mean_pick']} = {unit * check['diff']:+.1f} "
        f"points, 95% CI [{unit * lo:+.1f}, {unit * hi:+.1f}]: {verdict}; in sample (whole dev "
        f"pool, biased upwards) {unit * check['in_sample_diff']:+.1f}"
    )
