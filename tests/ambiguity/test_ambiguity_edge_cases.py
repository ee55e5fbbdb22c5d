"""Edge cases of dro-math §2 with hand-computed numbers."""

from __future__ import annotations

import decimal
import math

import pytest
import torch
from amb_cases import kl_divergence

from droiz.ambiguity import (
    AmbiguitySet,
    Chi2Ball,
    CVaR,
    KLBall,
    Nominal,
    TVBall,
    WassersteinBall,
)


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def close(x: torch.Tensor | float, y: torch.Tensor | float, atol: float = 1e-12) -> bool:
    x, y = (torch.as_tensor(z, dtype=torch.float64) for z in (x, y))
    return torch.allclose(x, y, rtol=0, atol=atol)


ALL_SETS = [
    KLBall(0.3),
    Chi2Ball(0.3),
    TVBall(0.3),
    CVaR(0.3),
    WassersteinBall(0.3),
    WassersteinBall(0.3, [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]]),
    Nominal(),
]


# ----------------------------------------------------------------------------- KL
def test_kl_interior_two_groups_by_hand() -> None:
    """u = (0, 1), q = (½, ½): the tilt with theta = log 3 is w = (¾, ¼): V = ¼, lam = 1/log 3."""
    eps = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)  # KL((¾, ¼) || (½, ½))
    worst, lam = KLBall(eps).worst_case_with_dual(t(0.0, 1.0), t(0.5, 0.5))
    assert close(worst.weights, t(0.75, 0.25))
    assert close(worst.value, 0.25)
    assert close(lam, 1 / math.log(3))


def test_kl_corner_puts_everything_on_the_minimum() -> None:
    """eps = -log Q_min = log 2: V = min u, w = q on the argmin set (with ties)."""
    worst = KLBall(math.log(2)).worst_case(t(1.0, 2.0, 3.0), t(0.5, 0.25, 0.25))
    assert close(worst.value, 1.0) and close(worst.weights, t(1.0, 0.0, 0.0))
    tied = KLBall(math.log(2)).worst_case(t(1.0, 1.0, 3.0), t(0.25, 0.25, 0.5))
    assert close(tied.value, 1.0) and close(tied.weights, t(0.5, 0.5, 0.0))


def test_kl_just_below_corner_is_continuous() -> None:
    eps = math.log(2) * (1 - 1e-9)
    worst = KLBall(eps).worst_case(t(1.0, 2.0, 3.0), t(0.5, 0.25, 0.25))
    assert 1.0 < worst.value.item() < 1.0 + 1e-6
    assert kl_divergence(worst.weights, t(0.5, 0.25, 0.25)) <= eps * (1 + 1e-12)


def test_kl_and_chi2_keep_zero_reference_atoms_at_zero() -> None:
    """The lowest utility sits on an atom with ref = 0: KL and chi-square cannot reach it."""
    u, q = t(5.0, -100.0, 1.0), t(0.5, 0.0, 0.5)
    for aset in (KLBall(50.0), Chi2Ball(1e6), CVaR(0.01)):
        worst = aset.worst_case(u, q)
        assert worst.weights[1].item() == 0.0
        assert close(worst.value, 1.0)


def test_kl_tiny_radius_keeps_digits() -> None:
    """eps = 1e-12: V = mean - sd sqrt(2 eps) + O(eps); the naive KL formula loses this."""
    u, q = t(0.0, 1.0), t(0.5, 0.5)
    expected = 0.5 - 0.5 * math.sqrt(2e-12)
    assert abs(KLBall(1e-12).worst_case(u, q).value.item() - expected) <= 1e-15


# ----------------------------------------------------------------------------- chi-square
def test_chi2_interior_by_hand() -> None:
    """u = (0, 1), q = (½, ½), eps = 0.36: V = ½ - 0.6 * ½ = 0.2, w = (0.8, 0.2)."""
    worst, tau = Chi2Ball(0.36).worst_case_with_dual(t(0.0, 1.0), t(0.5, 0.5))
    assert close(worst.value, 0.2) and close(worst.weights, t(0.8, 0.2))
    assert close(tau, 0.5 + 0.5 / 0.6)  # tau = mean + sd / sqrt(eps)


def test_chi2_with_an_inactive_atom_by_hand() -> None:
    """u = (0, 1, 10), uniform q, eps = 1: the atom at 10 drops out, tau = ½ + √3/2,
    w = (½ + 1/(2√3), ½ - 1/(2√3), 0)."""
    worst, tau = Chi2Ball(1.0).worst_case_with_dual(t(0.0, 1.0, 10.0), t(1 / 3, 1 / 3, 1 / 3))
    w1 = 0.5 + 1 / (2 * math.sqrt(3))
    assert close(worst.weights, t(w1, 1 - w1, 0.0))
    assert close(worst.value, 1 - w1)
    assert close(tau, 0.5 + math.sqrt(3) / 2)


def test_chi2_corner_with_ties() -> None:
    """eps >= 1/Q_min - 1 = 1 with Q_min = ½ from two tied minimisers."""
    worst = Chi2Ball(1.0).worst_case(t(2.0, 2.0, 7.0), t(0.25, 0.25, 0.5))
    assert close(worst.value, 2.0) and close(worst.weights, t(0.5, 0.5, 0.0))


# ----------------------------------------------------------------------------- TV
def test_tv_moves_mass_from_the_top_by_hand() -> None:
    """Move 0.3 from the best atom (u = 3) to the worst (u = 1): w = (0.2, 0.55, 0.25)."""
    worst, lam = TVBall(0.3).worst_case_with_dual(t(3.0, 1.0, 2.0), t(0.5, 0.25, 0.25))
    assert close(worst.weights, t(0.2, 0.55, 0.25)) and close(worst.value, 1.65)
    assert close(lam, 2.0)  # gap between the top atom and the minimum


def test_tv_can_move_mass_onto_a_zero_reference_atom() -> None:
    worst = TVBall(0.25).worst_case(t(1.0, 2.0, 0.0), t(0.5, 0.5, 0.0))
    assert close(worst.weights, t(0.5, 0.25, 0.25)) and close(worst.value, 1.0)


def test_tv_corner_and_beyond_one() -> None:
    u, q = t(3.0, 1.0, 2.0), t(0.5, 0.25, 0.25)
    for delta in (0.75, 1.0, 5.0):  # corner: delta >= 1 - q_min = 0.75
        worst = TVBall(delta).worst_case(u, q)
        assert close(worst.value, 1.0) and close(worst.weights, t(0.0, 1.0, 0.0))


def test_tv_splits_moved_mass_over_tied_minimisers_with_zero_reference() -> None:
    worst = TVBall(0.5).worst_case(t(1.0, 0.0, 0.0), t(1.0, 0.0, 0.0))
    assert close(worst.weights, t(0.5, 0.25, 0.25))


# ----------------------------------------------------------------------------- CVaR
def test_cvar_by_hand() -> None:
    u, q = t(4.0, 1.0, 3.0, 2.0), t(0.25, 0.25, 0.25, 0.25)
    half, tau = CVaR(0.5).worst_case_with_dual(u, q)
    assert close(half.value, 1.5) and close(half.weights, t(0.0, 0.5, 0.0, 0.5))
    assert close(tau, 2.0)  # the lower 0.5-quantile
    part = CVaR(0.3).worst_case(u, q)  # 0.25 of u = 1 and 0.05 of u = 2, over 0.3
    assert close(part.weights, t(0.0, 0.25 / 0.3, 0.0, 0.05 / 0.3))
    assert close(part.value, 0.35 / 0.3)


def test_cvar_alpha_one_is_the_mean_and_small_alpha_the_minimum() -> None:
    u, q = t(4.0, 1.0, 1.0, 2.0), t(0.1, 0.2, 0.3, 0.4)
    assert close(CVaR(1.0).worst_case(u, q).value, float(q @ u))
    tiny = CVaR(0.5).worst_case(u, q)  # alpha <= Q_min = 0.5: the two tied minima, by q
    assert close(tiny.value, 1.0) and close(tiny.weights, t(0.0, 0.4, 0.6, 0.0))


# ----------------------------------------------------------------------------- W1
LINE = [[0.0, 1.0, 3.0], [1.0, 0.0, 2.0], [3.0, 2.0, 0.0]]  # points at 0, 1 and 3


def test_w1_on_a_line_by_hand() -> None:
    """q = (0, ½, ½) at x = 0, 1, 3; u = (0, 1, 1). Moving to x = 0 gains 1 per unit of mass and
    costs 1 from x = 1, 3 from x = 3."""
    u, q = t(0.0, 1.0, 1.0), t(0.0, 0.5, 0.5)
    small = WassersteinBall(0.25, LINE).worst_case(u, q)
    assert close(small.weights, t(0.25, 0.25, 0.5)) and close(small.value, 0.75)
    large, lam = WassersteinBall(1.0, LINE).worst_case_with_dual(u, q)  # all of x=1, 1/6 of x=3
    assert close(large.weights, t(0.5 + 1 / 6, 0.0, 0.5 - 1 / 6)) and close(large.value, 1 / 3)
    assert close(lam, 1 / 3)  # moving from x = 3 is worth 1 - 3 lam = 0 at lam* = 1/3


def test_w1_corner_reaches_the_minimum() -> None:
    u, q = t(0.0, 1.0, 1.0), t(0.0, 0.5, 0.5)
    worst = WassersteinBall(2.0, LINE).worst_case(u, q)  # cost of moving everything: ½ + 3/2
    assert close(worst.value, 0.0) and close(worst.weights, t(1.0, 0.0, 0.0))


def test_w1_free_moves_are_taken_at_zero_radius() -> None:
    cost = [[0.0, 0.0], [1.0, 0.0]]  # moving 1 -> 2 is free
    worst = WassersteinBall(0.0, cost).worst_case(t(5.0, 1.0), t(0.5, 0.5))
    assert close(worst.weights, t(0.0, 1.0)) and close(worst.value, 1.0)


# ----------------------------------------------------------------------------- all sets
@pytest.mark.parametrize("aset", ALL_SETS, ids=repr)
def test_single_group(aset: AmbiguitySet) -> None:
    if isinstance(aset, WassersteinBall) and isinstance(aset.cost, torch.Tensor):
        aset = WassersteinBall(0.3, [[0.0]])
    worst = aset.worst_case(t(-2.5), t(1.0))
    assert worst.value.item() == -2.5 and worst.weights.tolist() == [1.0]


@pytest.mark.parametrize("aset", ALL_SETS, ids=repr)
def test_constant_utilities_give_reference(aset: AmbiguitySet) -> None:
    q = t(0.2, 0.3, 0.5)
    worst = aset.worst_case(torch.full((3,), 7.25, dtype=torch.float64), q)
    assert worst.value.item() == pytest.approx(7.25, abs=1e-13)
    assert close(worst.weights, q)


@pytest.mark.parametrize("make", [KLBall, Chi2Ball, TVBall, WassersteinBall], ids=repr)
def test_zero_radius_gives_reference(make: type) -> None:
    u, q = t(3.0, -1.0, 2.0), t(0.2, 0.3, 0.5)
    worst = make(0.0).worst_case(u, q)
    assert close(worst.value, float(q @ u)) and close(worst.weights, q)


def test_nominal_is_the_reference_mean() -> None:
    u, q = torch.tensor([[3.0, -1.0], [0.0, 2.0]]), t(0.25, 0.75)
    worst = Nominal().worst_case(u, q)
    assert close(worst.value, t(0.0, 1.5)) and close(worst.weights, q.expand(2, 2))


@pytest.mark.parametrize("aset", ALL_SETS, ids=repr)
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("offset", [0.0, -1e4, 1e4])
def test_scales_and_offsets(aset: AmbiguitySet, scale: float, offset: float) -> None:
    """V(a u + b) = a V(u) + b from scale 1e-3 to 1e3 with offsets up to 1e4 (1e7 x scale)."""
    u, q = t(0.3, -1.2, 2.0), t(0.2, 0.3, 0.5)
    base = aset.worst_case(u, q)
    moved = aset.worst_case(scale * u + offset, q)
    assert abs(moved.value.item() - (scale * base.value.item() + offset)) <= 1e-12 * (
        scale + abs(offset)
    )
    assert close(moved.weights, base.weights, atol=1e-9)


def test_chi2_near_ties_below_double_resolution() -> None:
    """Gaps of 1e-186 underflow when squared: such atoms act as ties (found by hypothesis)."""
    u, q = t(0.0, 0.0, 1.0, -3.870099589659897e-186), t(0.25, 0.25, 0.25, 0.25)
    worst, tau = Chi2Ball(1.0).worst_case_with_dual(u, q)
    assert close(worst.weights, t(1 / 3, 1 / 3, 0.0, 1 / 3))
    assert math.isfinite(tau.item())
    assert abs(Chi2Ball(1.0).dual_value(u, q, tau).item() - worst.value.item()) <= 1e-15


@pytest.mark.parametrize("aset", ALL_SETS, ids=repr)
@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
def test_extreme_scales(aset: AmbiguitySet, scale: float) -> None:
    """Solvers work on (u - min u) / range(u): no overflow or underflow at extreme scales."""
    u, q = t(0.3, -1.2, 2.0), t(0.2, 0.3, 0.5)
    base = aset.worst_case(u, q)
    scaled = aset.worst_case(scale * u, q)
    assert abs(scaled.value.item() / scale - base.value.item()) <= 1e-14
    assert close(scaled.weights, base.weights, atol=1e-14)


def test_kl_tiny_radius_skewed_reference() -> None:
    """eps = 1e-14 with a rare group: KL = 1e-14 must be computed to many digits (the difference
    form -theta E_w v - log Z has rounding noise of 1e-9 relative here; found by hypothesis)."""
    u, q = t(5.658237471298713, 5.6206), t(0.9988, 0.0012)
    mean = float(q @ u)
    sd = math.sqrt(float(q @ (u - mean) ** 2))
    value = KLBall(1e-14).worst_case(u, q).value.item()
    assert abs(value - (mean - sd * math.sqrt(2e-14))) <= 1e-10 * sd


@pytest.mark.parametrize("eps", [1e-14, 1e-12, 1e-10, 1e-6])
def test_kl_root_is_exact_for_tiny_radius(eps: float) -> None:
    """At the returned lam, the tilt's divergence (in 50-digit decimals) equals eps."""
    u, q = t(0.41, 0.2, 0.93, 0.55), t(0.7, 0.001, 0.099, 0.2)
    worst, lam = KLBall(eps).worst_case_with_dual(u, q)
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        theta, qs = 1 / decimal.Decimal(lam.item()), [decimal.Decimal(x) for x in q.tolist()]
        qs = [x / sum(qs) for x in qs]
        tilt = [
            x * (-theta * decimal.Decimal(y)).exp() for x, y in zip(qs, u.tolist(), strict=True)
        ]
        w = [x / sum(tilt) for x in tilt]
        kl = sum(a * (a / b).ln() for a, b in zip(w, qs, strict=True))
        value = float(sum(a * decimal.Decimal(y) for a, y in zip(w, u.tolist(), strict=True)))
    assert abs(float(kl) / eps - 1) <= 1e-9
    assert abs(value - worst.value.item()) <= 1e-14
