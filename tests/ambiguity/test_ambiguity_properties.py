"""Hypothesis property tests for every invariant of dro-math §2.9, for every ambiguity set."""

from __future__ import annotations

import math

import numpy as np
import torch
from amb_cases import (
    KINDS,
    MIN_OVER_ALL,
    PROPERTY,
    Case,
    cases,
    chi2_divergence,
    kl_divergence,
    make_set,
    support_min,
    tv_distance,
    w1_distance,
)
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from droiz.ambiguity import AmbiguitySet

DUAL_KINDS = KINDS  # every robust set exposes its dual


def value(aset: AmbiguitySet, u: Tensor, q: Tensor) -> float:
    return aset.worst_case(u, q).value.item()


def tol(case: Case, rel: float = 1e-9) -> float:
    """Absolute tolerance: ``rel`` of the spread plus rounding of the offset."""
    return rel * case.scale + 1e-13 * float(case.u.abs().max())


def with_radius(case: Case, radius: float) -> AmbiguitySet:
    return make_set(case.kind, radius, case.cost)


def ball_excess(case: Case, w: Tensor) -> float:
    """How far ``w`` lies outside the ball (0 inside, up to the stated rounding)."""
    q, r = case.q, case.aset.radius
    if case.kind == "kl":
        return kl_divergence(w, q) - r * (1 + 1e-8) - 1e-15
    if case.kind == "chi2":
        return chi2_divergence(w, q) - r * (1 + 1e-8) - 1e-14
    if case.kind == "tv":
        return tv_distance(w, q) - r - 1e-12
    if case.kind == "cvar":
        return float((w - q / r).max()) - 1e-12
    return w1_distance(w, q, case.cost) - r - 1e-7


# ----------------------------------------------------------------------- 1, 2: bounds, feasibility
@PROPERTY
@given(cases())
def test_value_between_minimum_and_reference_mean(case: Case) -> None:
    v = value(case.aset, case.u, case.q)
    low = float(case.u.min()) if case.kind in MIN_OVER_ALL else support_min(case.u, case.q)
    assert low - tol(case) <= v <= float(case.q @ case.u) + tol(case)


@PROPERTY
@given(cases())
def test_weights_in_simplex_and_ball(case: Case) -> None:
    w = case.aset.worst_case(case.u, case.q).weights
    assert float(w.min()) >= 0.0
    assert abs(float(w.sum()) - 1.0) <= 1e-9
    assert ball_excess(case, w) <= 0.0
    if case.kind in ("kl", "chi2", "cvar"):
        assert float(w[case.q == 0].abs().sum()) == 0.0


# ----------------------------------------------------------------------- 3: duality
@PROPERTY
@given(cases(kinds=DUAL_KINDS))
def test_primal_equals_dual(case: Case) -> None:
    worst, dual = case.aset.worst_case_with_dual(case.u, case.q)
    gap = worst.value.item() - case.aset.dual_value(case.u, case.q, dual).item()
    assert abs(gap) <= tol(case, 1e-9)


@PROPERTY
@given(cases(kinds=DUAL_KINDS), st.floats(0.0, 3.0))
def test_weak_duality_at_any_dual(case: Case, spread: float) -> None:
    """Any feasible dual variable gives a lower bound (catches a wrong dual objective)."""
    v = value(case.aset, case.u, case.q)
    lo, hi = float(case.u.min()), float(case.u.max())
    free = case.kind in ("chi2", "cvar")  # thresholds: any real; others: multipliers >= 0
    dual = lo + spread * (hi - lo + 1.0) - 0.5 if free else spread * (hi - lo + 1e-3) / 0.3
    assert case.aset.dual_value(case.u, case.q, dual).item() <= v + tol(case)


# ----------------------------------------------------------------------- 4: radius
@PROPERTY
@given(cases(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_monotone_and_convex_in_radius(case: Case, a: float, b: float) -> None:
    """V is non-increasing and convex in the right-hand side of the ball constraint."""
    if case.kind == "cvar":  # the constraint is w <= q t with t = 1 / alpha >= 1
        t1, t2 = 1.0 + 20.0 * min(a, b), 1.0 + 20.0 * max(a, b)
        radius = [1.0 / t for t in (t1, 0.5 * (t1 + t2), t2)]
    else:
        r1, r2 = 2.0 * min(a, b), 2.0 * max(a, b)
        radius = [r1, 0.5 * (r1 + r2), r2]
    v1, vm, v2 = (value(with_radius(case, r), case.u, case.q) for r in radius)
    assert v2 <= v1 + tol(case)
    assert vm <= 0.5 * (v1 + v2) + tol(case, 1e-8)


# ----------------------------------------------------------------------- 5: the two ends
@PROPERTY
@given(cases(kinds=("kl", "chi2", "tv", "w1")))
def test_zero_radius_gives_reference(case: Case) -> None:
    off_diagonal = 1.0 - torch.eye(len(case.q), dtype=torch.float64)
    aset = make_set(case.kind, 0.0, case.cost + off_diagonal)  # W1: no free moves
    worst = aset.worst_case(case.u, case.q)
    assert abs(worst.value.item() - float(case.q @ case.u)) <= tol(case)
    assert torch.allclose(worst.weights, case.q, rtol=0, atol=1e-12)


@PROPERTY
@given(cases(), st.floats(1.0, 3.0))
def test_large_radius_gives_minimum(case: Case, factor: float) -> None:
    u, q = case.u, case.q
    supp = q > 0
    low = u.min() if case.kind in MIN_OVER_ALL else u[supp].min()
    is_min = u == low
    q_min = float(q[is_min].sum())
    threshold = {
        "kl": lambda: -math.log(q_min),
        "chi2": lambda: 1.0 / q_min - 1.0,
        "tv": lambda: 1.0 - q_min,
        "cvar": lambda: q_min,
        "w1": lambda: float((q @ case.cost)[is_min].min()),
    }[case.kind]()
    radius = threshold / factor if case.kind == "cvar" else threshold * factor
    assert abs(value(with_radius(case, radius), u, q) - float(low)) <= tol(case, 1e-8)


# ----------------------------------------------------------------------- 6: equivariances
@PROPERTY
@given(cases(), st.floats(-100.0, 100.0), st.floats(-2.0, 2.0))
def test_translation_and_scale_equivariance(case: Case, shift: float, log_a: float) -> None:
    c, a = shift * case.scale, 10.0**log_a
    base = case.aset.worst_case(case.u, case.q)
    moved = case.aset.worst_case(case.u + c, case.q)
    scaled = case.aset.worst_case(a * case.u, case.q)
    assert abs(moved.value.item() - base.value.item() - c) <= tol(case) + 1e-13 * abs(c)
    assert abs(scaled.value.item() - a * base.value.item()) <= a * tol(case)
    assert torch.allclose(moved.weights, base.weights, rtol=0, atol=1e-7)
    assert torch.allclose(scaled.weights, base.weights, rtol=0, atol=1e-7)


@PROPERTY
@given(cases(), st.randoms(use_true_random=False))
def test_permutation_equivariance(case: Case, rnd) -> None:
    perm = list(range(len(case.q)))
    rnd.shuffle(perm)
    p = torch.tensor(perm)
    aset = make_set(case.kind, case.aset.radius, case.cost[p][:, p])
    base = case.aset.worst_case(case.u, case.q)
    permuted = aset.worst_case(case.u[p], case.q[p])
    assert abs(permuted.value.item() - base.value.item()) <= tol(case)
    if case.kind != "w1":  # W1 optima at ties are not unique (see the separated case below)
        assert torch.allclose(permuted.weights, base.weights[p], rtol=0, atol=1e-9)


@PROPERTY
@given(cases(kinds=("w1",), separated=True), st.randoms(use_true_random=False))
def test_permutation_equivariance_w1_weights(case: Case, rnd) -> None:
    perm = list(range(len(case.q)))
    rnd.shuffle(perm)
    p = torch.tensor(perm)
    aset = make_set("w1", case.aset.radius, case.cost[p][:, p])
    base = case.aset.worst_case(case.u, case.q)
    permuted = aset.worst_case(case.u[p], case.q[p])
    assert torch.allclose(permuted.weights, base.weights[p], rtol=0, atol=1e-9)


@PROPERTY
@given(cases(), st.integers(0, 2**32 - 1))
def test_monotone_lipschitz_and_concave_in_u(case: Case, seed: int) -> None:
    rng = np.random.default_rng(seed)
    delta = torch.tensor(rng.normal(size=len(case.q)) * case.scale)
    v, v_up = value(case.aset, case.u, case.q), value(case.aset, case.u + delta.abs(), case.q)
    v_other = value(case.aset, case.u + delta, case.q)
    v_mid = value(case.aset, case.u + 0.5 * delta, case.q)
    assert v_up >= v - tol(case)
    assert abs(v_other - v) <= float(delta.abs().max()) + tol(case)
    assert v_mid >= 0.5 * (v + v_other) - tol(case, 1e-8)


# ----------------------------------------------------------------------- 7: gradient
@PROPERTY
@given(cases(separated=True, zeros=False, max_k=12))
def test_gradient_is_weights_and_matches_finite_differences(case: Case) -> None:
    u = case.u.clone().requires_grad_(True)
    worst = case.aset.worst_case(u, case.q)
    (grad,) = torch.autograd.grad(worst.value, u)
    assert torch.equal(grad, worst.weights)
    k, h = len(case.q), 1e-6 * case.scale
    steps = h * torch.eye(k, dtype=torch.float64)
    batch = torch.cat([case.u + steps, case.u - steps])  # 2K x K, one batched call
    values = case.aset.worst_case(batch, case.q).value
    fd = (values[:k] - values[k:]) / (2 * h)
    assert torch.allclose(fd, worst.weights, rtol=0, atol=1e-4)


# ----------------------------------------------------------------------- 11: constant u, one-hot
@PROPERTY
@given(cases(), st.floats(-1e3, 1e3))
def test_constant_utilities(case: Case, c: float) -> None:
    u = torch.full_like(case.u, c)
    worst = case.aset.worst_case(u, case.q)
    assert abs(worst.value.item() - c) <= 1e-13 * (1 + abs(c))
    assert torch.allclose(worst.weights, case.q, rtol=0, atol=1e-13)


@PROPERTY
@given(cases(kinds=("kl", "chi2", "cvar"), zeros=False), st.integers(0, 63))
def test_one_hot_reference(case: Case, index: int) -> None:
    j = index % len(case.q)
    q = torch.zeros_like(case.q)
    q[j] = 1.0
    worst = case.aset.worst_case(case.u, q)
    assert worst.value.item() == case.u[j].item()
    assert torch.equal(worst.weights, q)


# ----------------------------------------------------------------------- adversarial floats
@PROPERTY
@given(
    st.sampled_from(KINDS),
    st.lists(st.floats(-1e3, 1e3, allow_subnormal=False), min_size=1, max_size=12),
    st.floats(1e-6, 5.0),
)
def test_near_ties_and_odd_floats_keep_values_and_feasibility(
    kind: str, values: list[float], radius: float
) -> None:
    """Hypothesis-chosen utilities (near-ties, repeated values, signed zeros, huge ratios)."""
    u = torch.tensor(values, dtype=torch.float64)
    k = len(values)
    q = torch.full((k,), 1.0 / k, dtype=torch.float64)
    cost = (torch.arange(k)[:, None] - torch.arange(k)[None]).abs().double()  # points on a line
    case = Case(kind, make_set(kind, min(radius, 1.0), cost), u, q, cost, 0.0)
    worst, dual = case.aset.worst_case_with_dual(u, q)
    slack = 1e-12 * (1 + float(u.abs().max()))
    assert float(u.min()) - slack <= worst.value.item() <= float(q @ u) + slack
    assert abs(float(worst.weights.sum()) - 1.0) <= 1e-9 and float(worst.weights.min()) >= 0
    assert ball_excess(case, worst.weights) <= 0.0
    gap = worst.value.item() - case.aset.dual_value(u, q, dual).item()
    assert abs(gap) <= 1e-9 * (1 + float(u.abs().max()))
