"""The evaluation quantities, defined once for the whole project.

Every consumer (the simulated demo, the LLM runner, reports) computes group-level numbers with
these functions, so that "worst-group accuracy" or "shifted accuracy" means the same everywhere.

Definitions, for per-group accuracies ``acc_g`` over the groups ``G`` of a task:

- per-group accuracy: the mean per-example score within a group (:func:`group_accuracy`);
- mean: the uniform mean of ``acc_g`` over the groups;
- worst-group accuracy: ``min_g acc_g``;
- train mix ``p``: 0.5 on the clean group, 0.5 spread uniformly over the other groups;
- test mix ``q``: 0.1 on the clean group, 0.9 spread uniformly over the other groups;
- shifted-mixture accuracy: ``sum_g q_g acc_g`` (exact expectation under the test mix);
- KL worst case at radius ``r``: ``min { sum_g w_g acc_g : KL(w || p) <= r }`` around the train mix,
  solved by :class:`droiz.ambiguity.KLBall`; ``r -> inf`` gives the worst-group accuracy.

This module imports torch (through :mod:`droiz.ambiguity`) only inside :func:`summarize`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from droiz.exceptions import ConfigError

CLEAN = "clean"
"""Name of the unperturbed group."""

TRAIN_CLEAN_WEIGHT = 0.5
"""Weight of the clean group in the train mix (the rest is spread over the shifts)."""

TEST_CLEAN_WEIGHT = 0.1
"""Weight of the clean group in the test mix (the rest is spread over the shifts)."""

DEFAULT_RADII: tuple[float, ...] = (0.1, 0.5, 1.0)
"""KL radii (nats) of the worst cases reported by :func:`summarize`."""

__all__ = [
    "CLEAN",
    "DEFAULT_RADII",
    "TEST_CLEAN_WEIGHT",
    "TRAIN_CLEAN_WEIGHT",
    "GroupReport",
    "group_accuracy",
    "mixture",
    "summarize",
    "test_mix",
    "train_mix",
]


def mixture(groups: Sequence[str], clean_weight: float, clean: str = CLEAN) -> dict[str, float]:
    """A distribution over groups with a given weight on the clean group.

    Args:
        groups: The group names, distinct, in the order the result should have.
        clean_weight: Weight of ``clean`` in ``[0, 1]``; the rest is spread uniformly over the
            other groups. Without a clean group in ``groups`` the result is uniform; with only the
            clean group it gets weight 1.
        clean: Name of the clean group.

    Returns:
        ``{group: weight}`` in the order of ``groups``, summing to 1.
    """
    names = _check_groups(groups)
    if not 0.0 <= clean_weight <= 1.0 or math.isnan(clean_weight):
        raise ConfigError(f"clean_weight must be in [0, 1], got {clean_weight!r}")
    others = [g for g in names if g != clean]
    if clean not in names:
        return {g: 1.0 / len(names) for g in names}
    if not others:
        return {clean: 1.0}
    rest = (1.0 - clean_weight) / len(others)
    return {g: (clean_weight if g == clean else rest) for g in names}


def train_mix(groups: Sequence[str], clean: str = CLEAN) -> dict[str, float]:
    """The train (source) mix: 0.5 on the clean group, 0.5 spread over the shifts."""
    return mixture(groups, TRAIN_CLEAN_WEIGHT, clean)


def test_mix(groups: Sequence[str], clean: str = CLEAN) -> dict[str, float]:
    """The test (shifted) mix: 0.1 on the clean group, 0.9 spread over the shifts."""
    return mixture(groups, TEST_CLEAN_WEIGHT, clean)


test_mix.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


def group_accuracy(scores: Sequence[float], groups: Sequence[str]) -> dict[str, float]:
    """Per-group mean score.

    Args:
        scores: One score in ``[0, 1]`` per example (finite).
        groups: The group label of each example, aligned with ``scores``.

    Returns:
        ``{group: mean score}`` in order of first appearance.
    """
    if len(scores) != len(groups):
        raise ConfigError(
            f"scores and groups must have the same length, got {len(scores)} and {len(groups)}"
        )
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for value, group in zip(scores, groups, strict=True):
        v = float(value)
        if not math.isfinite(v):
            raise ConfigError(f"scores must be finite, got {value!r} in group {group!r}")
        sums[group] = sums.get(group, 0.0) + v
        counts[group] = counts.get(group, 0) + 1
    return {g: sums[g] / counts[g] for g in sums}


@dataclass(frozen=True)
class GroupReport:
    """Group-level summary of one instruction on one task.

    Attributes:
        per_group: Accuracy of every group, ``{group: acc}``.
        mean: Uniform mean over the groups.
        worst_group: Lowest group accuracy.
        worst_group_name: The group with the lowest accuracy (the first one on ties).
        shifted: Expected accuracy under the test mix (0.1 clean + 0.9 spread over the shifts).
        train_mix: Expected accuracy under the train mix (0.5 clean + 0.5 spread).
        kl_worst: ``{radius: worst case}`` within the KL ball of that radius around the train mix.
    """

    per_group: dict[str, float]
    mean: float
    worst_group: float
    worst_group_name: str
    shifted: float
    train_mix: float
    kl_worst: dict[float, float] = field(default_factory=dict)

    @property
    def clean(self) -> float | None:
        """Accuracy of the clean group, or ``None`` when there is none."""
        return self.per_group.get(CLEAN)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``kl_worst`` keys become strings such as ``"0.1"``."""
        return {
            "per_group": dict(self.per_group),
            "mean": self.mean,
            "worst_group": self.worst_group,
            "worst_group_name": self.worst_group_name,
            "shifted": self.shifted,
            "train_mix": self.train_mix,
            "kl_worst": {repr(float(r)): v for r, v in self.kl_worst.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupReport:
        """Inverse of :meth:`to_dict`."""
        kl = {float(r): float(v) for r, v in dict(data.get("kl_worst", {})).items()}
        return cls(
            per_group={str(k): float(v) for k, v in dict(data["per_group"]).items()},
            mean=float(data["mean"]),
            worst_group=float(data["worst_group"]),
            worst_group_name=str(data["worst_group_name"]),
            shifted=float(data["shifted"]),
            train_mix=float(data["train_mix"]),
            kl_worst=kl,
        )


def summarize(
    per_group: Mapping[str, float],
    *,
    clean: str = CLEAN,
    radii: Sequence[float] = DEFAULT_RADII,
    train: Mapping[str, float] | None = None,
    test: Mapping[str, float] | None = None,
) -> GroupReport:
    """All evaluation quantities from per-group accuracies.

    Args:
        per_group: ``{group: accuracy}`` (finite values; at least one group).
        clean: Name of the clean group (the mixes are uniform when it is absent).
        radii: KL radii (nats, ``>= 0``) of the worst cases around the train mix.
        train, test: Other train and test mixes (weights by group, renormalised over the groups
            of ``per_group``), instead of :func:`train_mix` and :func:`test_mix`.

    Returns:
        The :class:`GroupReport`.
    """
    names = _check_groups(list(per_group))
    acc = {g: float(per_group[g]) for g in names}
    for g, v in acc.items():
        if not math.isfinite(v):
            raise ConfigError(f"group accuracy must be finite, got {v!r} for group {g!r}")
    worst_name = min(names, key=lambda g: acc[g])
    if train is None:
        p = train_mix(names, clean)
    else:
        p_total = sum(train[g] for g in names)
        p = {g: train[g] / p_total for g in names}
    q = test_mix(names, clean) if test is None else {g: test[g] for g in names}
    q_total = 1.0 if test is None else sum(q.values())
    return GroupReport(
        per_group=acc,
        mean=sum(acc.values()) / len(acc),
        worst_group=acc[worst_name],
        worst_group_name=worst_name,
        shifted=sum(q[g] * acc[g] for g in names) / q_total,
        train_mix=sum(p[g] * acc[g] for g in names),
        kl_worst=kl_worst_cases([acc[g] for g in names], [p[g] for g in names], radii),
    )


def kl_worst_cases(
    values: Sequence[float], ref: Sequence[float], radii: Sequence[float]
) -> dict[float, float]:
    """Worst-case expectation of ``values`` within KL balls around ``ref``.

    Args:
        values: ``K`` utilities (higher is better).
        ref: ``K`` reference weights on the simplex.
        radii: The KL radii.

    Returns:
        ``{radius: min_{w: KL(w||ref) <= radius} <w, values>}``.
    """
    if not radii:
        return {}
    import torch

    from droiz.ambiguity import KLBall

    u = torch.tensor([list(values)], dtype=torch.float64)
    w = torch.tensor(list(ref), dtype=torch.float64)
    out: dict[float, float] = {}
    for r in radii:
        worst = KLBall(float(r)).worst_case(u, w)
        out[float(r)] = float(worst.value.reshape(-1)[0])
    return out


def _check_groups(groups: Sequence[str]) -> list[str]:
    names = [str(g) for g in groups]
    if not names:
        raise ConfigError("need at least one group, got none")
    if len(set(names)) != len(names):
        dup = sorted({g for g in names if names.count(g) > 1})
        raise ConfigError(f"group names must be distinct, got duplicates {dup}")
    return names
