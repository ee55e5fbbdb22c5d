"""Intervals of a table replay: the test examples and the seeds resampled together.

Every seed of a replay scores its pick on the same fixed test set, so the seeds are not
independent samples of the test accuracy: the test set's own sampling error is shared. A
replicate of :class:`JointBootstrap` therefore resamples, in every task,

* the test examples of each group with replacement (the same examples in every group when the
  groups share their example ids in the same order, as shift groups do; else within each group),
  which moves every instruction's test accuracies, and
* the task's seeds with replacement,

and recomputes the mean paired difference over all (task, seed) pairs. The interval is the
percentile interval of ``N_BOOT`` = 10,000 replicates (``numpy.random.default_rng(BOOT_SEED)``,
``BOOT_SEED`` = 0, so the same picks always give the same intervals). With ``SE`` the standard
deviation of the replicates and ``n`` the number of pairs, one pair's ``SD = SE sqrt(n)`` and the
minimum detectable difference is ``2.80 SD / sqrt(n)`` (= ``2.80 SE``); equivalence is the TOST
of :func:`droiz.bench.paired.summarise` (the 90% interval inside ±3 points).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from droiz.bench.paired import BOOT_SEED, N_BOOT, summarise
from droiz.exceptions import ConfigError

METRICS = {"test_mean": "mean over groups", "worst_group": "worst group"}
"""The metrics of a replay's comparisons: the pick's test accuracy averaged over the groups,
and that of its weakest group."""


def metric_of(acc: np.ndarray, metric: str) -> np.ndarray:
    """``acc`` (``... x K`` per-group accuracies) reduced over the groups by ``metric``."""
    if metric == "test_mean":
        mean: np.ndarray = acc.mean(-1)
        return mean
    if metric == "worst_group":
        worst: np.ndarray = acc.min(-1)
        return worst
    raise ConfigError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")


@dataclass(frozen=True)
class TaskTest:
    """One task's fixed test set: per group, the scores of every instruction on every example
    (``N x m_g``); ``paired``: the groups hold the same examples in the same order."""

    scores: tuple[np.ndarray, ...]
    paired: bool

    def accuracy(self) -> np.ndarray:
        """``N x K`` test accuracy of every instruction on every group."""
        return np.stack([s.mean(-1) for s in self.scores], -1)


class JointBootstrap:
    """The replicates of every task's test accuracies and seed resamples, drawn once and shared
    by every comparison (see the module docstring).

    Args:
        tasks: Each task's test set. n_seeds: The number of seeds of each task.
        n_boot, seed: Replicates and their seed.
    """

    def __init__(
        self,
        tasks: Sequence[TaskTest],
        n_seeds: Sequence[int],
        n_boot: int = N_BOOT,
        seed: int = BOOT_SEED,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.tasks, self.n_seeds, self.n_boot = list(tasks), list(n_seeds), n_boot
        self.acc: list[np.ndarray] = []  # per task: n_boot x N x K
        self.seeds: list[np.ndarray] = []  # per task: n_boot x n_seeds
        for task, n in zip(self.tasks, self.n_seeds, strict=True):
            self.acc.append(self._resample(task, rng))
            self.seeds.append(rng.integers(0, n, size=(n_boot, n)))

    def _resample(self, task: TaskTest, rng: np.random.Generator) -> np.ndarray:
        sizes = [s.shape[-1] for s in task.scores]
        if task.paired:
            counts = rng.multinomial(sizes[0], np.full(sizes[0], 1.0 / sizes[0]), self.n_boot)
            draws = [counts] * len(sizes)
        else:
            draws = [rng.multinomial(m, np.full(m, 1.0 / m), self.n_boot) for m in sizes]
        means = [c @ s.T / s.shape[-1] for c, s in zip(draws, task.scores, strict=True)]
        return np.stack(means, -1)

    def compare(
        self,
        a_name: str,
        b_name: str,
        metric: str,
        a: Sequence[np.ndarray],
        b: Sequence[np.ndarray],
    ) -> dict[str, Any]:
        """``a - b`` in points over every (task, seed) pair, with the joint bootstrap's
        intervals, ``n``, ``mdd`` (:func:`~droiz.bench.paired.summarise`) and ``se`` (the
        replicates' standard deviation, points).

        Args:
            a, b: Per task, the candidates each side picked: ``n_seeds x r`` indices (``r``
                rows, e.g. several cells of an ablation, averaged per seed).
        """
        point: list[np.ndarray] = []
        total = np.zeros(self.n_boot)
        for k, task in enumerate(self.tasks):
            pa, pb = np.asarray(a[k]), np.asarray(b[k])
            if pa.shape[0] != self.n_seeds[k] or pb.shape[0] != self.n_seeds[k]:
                raise ValueError(f"task {k}: picks of {pa.shape[0]} and {pb.shape[0]} seeds")
            m0 = metric_of(task.accuracy(), metric)
            point.append(m0[pa].mean(-1) - m0[pb].mean(-1))
            m = metric_of(self.acc[k], metric)  # n_boot x N
            diff = m[:, pa].mean(-1) - m[:, pb].mean(-1)  # n_boot x n_seeds
            total += np.take_along_axis(diff, self.seeds[k], -1).sum(-1)
        n = sum(self.n_seeds)
        boot = total / n
        se = float(boot.std(ddof=1))
        diff = float(np.concatenate(point).mean())
        return {
            **summarise(a_name, b_name, metric, diff, boot, n, se * math.sqrt(n)),
            "se": 100 * se,
        }
