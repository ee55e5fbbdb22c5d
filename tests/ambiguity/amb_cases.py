"""Shared test material for droiz.ambiguity: problem generators, strategies and divergences.

Values come from a numpy generator seeded by hypothesis (hypothesis explores the structure: K,
scale, offset, ties, zeros in ``ref``, radius), which avoids accidental near-ties where the
worst-case weights are not unique.

The property tests are reproducible (``derandomize``, 100 examples each). For a longer, random
bug hunt: ``AMB_EXAMPLES=3000 AMB_RANDOM=1 pytest tests/ambiguity``.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from torch import Tensor

from droiz.ambiguity import (
    AmbiguitySet,
    Chi2Ball,
    CVaR,
    KLBall,
    TVBall,
    WassersteinBall,
)

KINDS = ("kl", "chi2", "tv", "cvar", "w1")
MIN_OVER_ALL = ("tv", "w1")  # sets that can move mass onto atoms with ref = 0
PROPERTY = settings(
    deadline=None,
    max_examples=int(os.environ.get("AMB_EXAMPLES", "100")),
    derandomize=os.environ.get("AMB_RANDOM") is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Hypothesis settings for the property tests: reproducible unless ``AMB_RANDOM`` is set."""


class Case(NamedTuple):
    kind: str
    aset: AmbiguitySet
    u: Tensor  # K, float64
    q: Tensor  # K, float64
    cost: Tensor  # K x K ground cost used when kind == "w1"
    scale: float  # spread of u (for tolerances)


def make_set(kind: str, radius: float, cost: Tensor | None = None) -> AmbiguitySet:
    """The set ``kind`` with the given radius (``cost`` for W1)."""
    if kind == "w1":
        return WassersteinBall(radius, cost)
    return {"kl": KLBall, "chi2": Chi2Ball, "tv": TVBall, "cvar": CVaR}[kind](radius)


def random_radius(rng: np.random.Generator, kind: str) -> float:
    """A radius drawn log-uniformly over the range that matters for ``kind``."""
    low, high = {"kl": (-4, 1), "chi2": (-4, 1), "tv": (-4, 0), "cvar": (-3, 0), "w1": (-4, 1)}[
        kind
    ]
    return float(min(10 ** rng.uniform(low, high), 1.0 if kind == "cvar" else math.inf))


def random_cost(rng: np.random.Generator, k: int) -> np.ndarray:
    """A ground cost: Euclidean distances of random points, or a random asymmetric cost."""
    if rng.random() < 0.6:
        x = rng.normal(size=(k, 2))
        return np.linalg.norm(x[:, None] - x[None], axis=-1)
    cost = rng.uniform(0.1, 2.0, size=(k, k))
    cost[rng.random((k, k)) < 0.05] = 0.0  # some free moves
    np.fill_diagonal(cost, 0.0)
    return cost


def random_reference(rng: np.random.Generator, k: int, zeros: bool, floor: float) -> np.ndarray:
    """A reference distribution (Dirichlet, floored); with ``zeros`` some atoms get 0."""
    q = np.maximum(rng.dirichlet(np.full(k, rng.choice([0.3, 1.0, 5.0]))), floor)
    if zeros and k > 1:
        q[rng.random(k) < 0.3] = 0.0
        q[rng.integers(k)] = max(q.max(), floor)  # keep at least one positive atom
    return q / q.sum()


def random_utilities(rng: np.random.Generator, k: int, ties: bool) -> tuple[np.ndarray, float]:
    """Utilities over scales 1e-3..1e3 with an offset; with ``ties`` some atoms share the min."""
    scale = 10 ** rng.uniform(-3, 3)
    u = rng.normal(size=k) * scale + rng.normal() * 10.0 * max(1.0, scale)
    if ties and k > 1:
        u[rng.integers(k, size=rng.integers(1, max(2, k // 3) + 1))] = u.min()
    return u, scale


def separated_utilities(rng: np.random.Generator, k: int) -> tuple[np.ndarray, float]:
    """Utilities with gaps of at least ``scale / 2`` (unique worst-case weights, no kinks)."""
    scale = 10 ** rng.uniform(-2, 2)
    u = (rng.permutation(k) + rng.uniform(0.0, 0.5, size=k)) * scale / max(1, k - 1)
    return u + rng.normal() * 10 * scale, scale / max(1, k - 1)


@st.composite
def cases(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = KINDS,
    min_k: int = 1,
    max_k: int = 40,
    ties: bool = True,
    zeros: bool = True,
    separated: bool = False,
) -> Case:
    """A random ambiguity set with utilities and reference weights."""
    kind = draw(st.sampled_from(kinds))
    k = draw(st.integers(min_k, max_k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    with_zeros = zeros and kind in (*MIN_OVER_ALL, "cvar") and draw(st.booleans())
    q = random_reference(rng, k, with_zeros, 1e-6)
    if separated:
        u, scale = separated_utilities(rng, k)
    else:
        u, scale = random_utilities(rng, k, ties and draw(st.booleans()))
    cost = torch.tensor(random_cost(rng, k))
    aset = make_set(kind, random_radius(rng, kind), cost)
    return Case(kind, aset, torch.tensor(u), torch.tensor(q), cost, scale)


# ----------------------------------------------------------------------------- divergences
def kl_divergence(w: Tensor, q: Tensor) -> float:
    """``KL(w || q)`` (``inf`` if ``w`` puts mass where ``q = 0``)."""
    if bool(((w > 0) & (q == 0)).any()):
        return math.inf
    pos = w > 0
    return float((w[pos] * torch.log(w[pos] / q[pos])).sum())


def chi2_divergence(w: Tensor, q: Tensor) -> float:
    """Pearson ``sum (w - q)^2 / q`` over ``q > 0`` (``inf`` if ``w`` leaves the support)."""
    if bool(((w > 0) & (q == 0)).any()):
        return math.inf
    pos = q > 0
    return float(((w[pos] - q[pos]) ** 2 / q[pos]).sum())


def tv_distance(w: Tensor, q: Tensor) -> float:
    """``½ ||w - q||_1``."""
    return 0.5 * float((w - q).abs().sum())


def w1_distance(w: Tensor, q: Tensor, cost: Tensor) -> float:
    """Optimal transport cost from ``q`` to ``w`` (a small LP, via scipy)."""
    from scipy.optimize import linprog

    k = len(q)
    a_eq = np.vstack([np.kron(np.eye(k), np.ones(k)), np.kron(np.ones(k), np.eye(k))])
    b_eq = np.concatenate([q.numpy(), w.numpy()])
    res = linprog(cost.numpy().ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert res.status == 0, res.message
    return float(res.fun)


def support_min(u: Tensor, q: Tensor) -> float:
    """Minimum of ``u`` over the atoms with ``q > 0``."""
    return float(u[q > 0].min())
