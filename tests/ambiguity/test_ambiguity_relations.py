"""Solver-independent oracles (dro-math §2.7, §2.9 items 8-10): inclusions between sets, the K = 2
closed forms, small-radius asymptotics and BoTorch's CVaR."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from amb_cases import PROPERTY, random_reference, random_utilities
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from droiz.ambiguity import Chi2Ball, CVaR, KLBall, TVBall, WassersteinBall


@st.composite
def problems(draw: st.DrawFn, min_k: int = 2, max_k: int = 40, zeros: bool = False) -> tuple:
    """``(u, q, rng, scale)`` with utilities over many scales, ties and optional zeros in q."""
    k = draw(st.integers(min_k, max_k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q = random_reference(rng, k, zeros and draw(st.booleans()), 1e-6)
    u, scale = random_utilities(rng, k, draw(st.booleans()))
    return torch.tensor(u), torch.tensor(q), rng, scale


def v(aset: object, u: Tensor, q: Tensor) -> float:
    return aset.worst_case(u, q).value.item()  # type: ignore[attr-defined]


def slack(u: Tensor, scale: float) -> float:
    return 1e-9 * scale + 1e-13 * float(u.abs().max())


radii = st.floats(1e-4, 10.0).map(float)


# ----------------------------------------------------------------------------- inclusions
@PROPERTY
@given(problems(zeros=True), radii)
def test_pinsker_tv_ball_contains_kl_ball(p: tuple, eps: float) -> None:
    u, q, _, scale = p
    assert v(TVBall(math.sqrt(eps / 2)), u, q) <= v(KLBall(eps), u, q) + slack(u, scale)


@PROPERTY
@given(problems(zeros=True), radii)
def test_kl_ball_contains_chi2_ball(p: tuple, eps: float) -> None:
    u, q, _, scale = p
    assert v(KLBall(math.log1p(eps)), u, q) <= v(Chi2Ball(eps), u, q) + slack(u, scale)


@PROPERTY
@given(problems(zeros=True), st.floats(1e-3, 1.0))
def test_kl_ball_contains_cvar_set(p: tuple, alpha: float) -> None:
    u, q, _, scale = p
    assert v(KLBall(math.log(1 / alpha)), u, q) <= v(CVaR(alpha), u, q) + slack(u, scale)


@PROPERTY
@given(problems(zeros=True), st.floats(0.0, 1.5), st.floats(0.1, 10.0))
def test_w1_with_discrete_cost_is_tv(p: tuple, eps: float, c: float) -> None:
    """``c 1[i != j]`` as an explicit matrix (the general solver) equals TV with radius eps / c."""
    u, q, _, scale = p
    discrete = c * (1.0 - torch.eye(len(q), dtype=torch.float64))
    tv = v(TVBall(eps / c), u, q)
    assert abs(v(WassersteinBall(eps, discrete), u, q) - tv) <= slack(u, scale)
    assert v(WassersteinBall(eps / c), u, q) == tv  # the lazy "discrete" cost is solved as TV


@PROPERTY
@given(problems(zeros=True), st.floats(0.0, 2.0))
def test_w1_between_lipschitz_bound_and_mean(p: tuple, eps: float) -> None:
    u, q, rng, scale = p
    x = rng.normal(size=(len(q), 2))
    cost = torch.tensor(np.linalg.norm(x[:, None] - x[None], axis=-1))
    off = ~torch.eye(len(q), dtype=torch.bool)
    lipschitz = float(((u[:, None] - u[None]).abs()[off] / cost[off]).max())
    mean = float(q @ u)
    value = v(WassersteinBall(eps, cost), u, q)
    assert mean - lipschitz * eps - slack(u, scale) <= value <= mean + slack(u, scale)


# ----------------------------------------------------------------------------- K = 2
def binary_kl_root(q1: float, eps: float) -> float:
    """``p`` in ``[q1, 1]`` with ``kl_bin(p || q1) = eps`` (bisection; 1 if eps >= -log q1)."""
    if eps >= -math.log(q1):
        return 1.0
    lo, hi = q1, 1.0
    for _ in range(200):
        p = 0.5 * (lo + hi)
        kl = p * math.log(p / q1) + (1 - p) * math.log((1 - p) / (1 - q1)) if p < 1 else math.inf
        lo, hi = (lo, p) if kl > eps else (p, hi)
    return lo


@PROPERTY
@given(
    st.floats(0.01, 0.99),
    st.floats(-100.0, 100.0),
    st.floats(1e-3, 1e3),
    radii,
    st.floats(1e-3, 1.0),
    st.floats(0.05, 3.0),
)
def test_two_groups_closed_forms(
    q1: float, low: float, gap: float, eps: float, alpha: float, d21: float
) -> None:
    """Worst task 1 (``u_1 < u_2``) gets ``p*``; ``V = u_2 - (u_2 - u_1) p*`` (dro-math §2.7)."""
    u = torch.tensor([low, low + gap], dtype=torch.float64)
    q = torch.tensor([q1, 1 - q1], dtype=torch.float64)
    cost = torch.tensor([[0.0, 1.0], [d21, 0.0]], dtype=torch.float64)  # moving 2 -> 1 costs d21
    delta = min(eps, 1.0)
    expected = {
        KLBall(eps): binary_kl_root(q1, eps),
        Chi2Ball(eps): min(1.0, q1 + math.sqrt(eps * q1 * (1 - q1))),
        TVBall(delta): min(1.0, q1 + delta),
        CVaR(alpha): min(1.0, q1 / alpha),
        WassersteinBall(eps, cost): min(1.0, q1 + eps / d21),
    }
    for aset, p_star in expected.items():
        worst = aset.worst_case(u, q)
        assert abs(worst.value.item() - (u[1].item() - gap * p_star)) <= 1e-10 * (gap + abs(low))
        assert abs(worst.weights[0].item() - p_star) <= 1e-9, aset


# ----------------------------------------------------------------------------- small radius
@PROPERTY
@given(problems())
def test_kl_small_radius_asymptotics(p: tuple) -> None:
    u, q, _, _ = p
    eps = 1e-14
    mean = float(q @ u)
    sd = math.sqrt(float(q @ (u - mean) ** 2))
    expected = mean - sd * math.sqrt(2 * eps)
    assert abs(v(KLBall(eps), u, q) - expected) <= 1e-10 * sd + 1e-14 * float(u.abs().max())


@PROPERTY
@given(problems(), st.floats(1e-6, 1.0))
def test_chi2_interior_closed_form(p: tuple, fraction: float) -> None:
    """When ``E u + sd / sqrt(eps) >= max u`` no weight hits 0 and ``V = E u - sqrt(eps) sd``."""
    u, q, _, scale = p
    mean = float(q @ u)
    sd = math.sqrt(float(q @ (u - mean) ** 2))
    top = float(u.max()) - mean
    eps = fraction * (sd / top) ** 2 if top > 0 else fraction
    worst = Chi2Ball(eps).worst_case(u, q)
    assert abs(worst.value.item() - (mean - math.sqrt(eps) * sd)) <= slack(u, scale)
    if sd > 1e-12 * float(u.abs().max()):  # not constant up to rounding
        expected_w = q * (1 - math.sqrt(eps) * (u - mean) / sd)
        rounding = 1e-15 * float(u.abs().max()) * math.sqrt(eps) / sd  # of u - mean, above
        assert torch.allclose(worst.weights, expected_w, rtol=0, atol=1e-9 + rounding)


@PROPERTY
@given(problems(), st.floats(0.0, 1.0))
def test_tv_small_radius_closed_form(p: tuple, fraction: float) -> None:
    """For ``delta <= min(q_top, 1 - q_min)``: ``V = E u - delta (max u - min u)``."""
    u, q, _, scale = p
    q_top, q_bottom = float(q[u == u.max()].sum()), float(q[u == u.min()].sum())
    delta = fraction * max(0.0, min(q_top, 1 - q_bottom))  # 1 - q_bottom may round below 0
    expected = float(q @ u) - delta * float(u.max() - u.min())
    assert abs(v(TVBall(delta), u, q) - expected) <= slack(u, scale)


# ----------------------------------------------------------------------------- BoTorch CVaR
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit, inside botorch
@PROPERTY
@given(st.integers(1, 30), st.floats(0.01, 1.0), st.integers(0, 2**32 - 1))
def test_cvar_matches_botorch_risk_measure(n: int, a: float, seed: int) -> None:
    """BoTorch's CVaR(alpha=a, n_w=n) averages the lowest ``n - ceil(n a) + 1`` samples."""
    from botorch.acquisition.risk_measures import CVaR as BotorchCVaR

    samples = torch.tensor(np.random.default_rng(seed).normal(size=(6, n)))
    theirs = BotorchCVaR(alpha=a, n_w=n)(samples.unsqueeze(-1)).squeeze(-1)
    alpha = (n - math.ceil(n * a) + 1) / n
    ours = CVaR(alpha).worst_case(samples, torch.full((n,), 1.0 / n, dtype=torch.float64))
    assert torch.allclose(ours.value, theirs, rtol=0, atol=1e-12)
