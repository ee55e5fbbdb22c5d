"""Each ambiguity set measures the divergence that defines it: hand values, the adversary's
weights on the boundary of every ball, W1 against SciPy, validation, ``with_radius``."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.stats import wasserstein_distance

from droiz.ambiguity import (
    AmbiguitySet,
    Chi2Ball,
    CVaR,
    KLBall,
    Nominal,
    TVBall,
    WassersteinBall,
)
from droiz.exceptions import AmbiguitySetError
from droiz.optim.conformance import ambiguity_sets

HALF = torch.tensor([0.5, 0.5], dtype=torch.float64)
CORNER = torch.tensor([1.0, 0.0], dtype=torch.float64)


@pytest.mark.parametrize(
    ("ball", "value"),
    [
        (KLBall(0.1), math.log(2.0)),
        (Chi2Ball(0.1), 1.0),
        (TVBall(0.1), 0.5),
        (WassersteinBall(0.1), 0.5),
        (WassersteinBall(0.1, [[0.0, 2.0], [3.0, 0.0]]), 1.5),  # 0.5 from group 1 to 0, at 3
        (Nominal(), 0.5),
        (CVaR(0.5), 2.0),
    ],
    ids=repr,
)
def test_hand_computed_divergences(ball: AmbiguitySet, value: float) -> None:
    got = ball.divergence(CORNER, HALF)
    assert got.dtype == torch.float64 and got.shape == ()
    assert float(got) == pytest.approx(value, rel=1e-12)
    at_ref = 1.0 if isinstance(ball, CVaR) else 0.0  # CVaR: the largest likelihood ratio
    assert float(ball.divergence(HALF, HALF)) == at_ref


def test_mass_where_the_reference_has_none() -> None:
    ref = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for ball in (KLBall(1.0), Chi2Ball(1.0), CVaR(0.5)):
        assert math.isinf(float(ball.divergence(HALF, ref))), ball
        assert not bool(ball.contains(HALF, ref)), ball
    assert float(TVBall(1.0).divergence(HALF, ref)) == 0.5  # TV can move mass there
    assert bool(TVBall(0.5).contains(HALF, ref)) and not bool(TVBall(0.4).contains(HALF, ref))


@pytest.mark.parametrize("ambiguity", ambiguity_sets(), ids=repr)
def test_the_adversary_stays_in_the_set_and_a_ball_spends_its_radius(
    ambiguity: AmbiguitySet,
) -> None:
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(64, 3, generator=gen, dtype=torch.float64)
    ref = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    weights = ambiguity.worst_case(u, ref).weights
    assert bool(ambiguity.contains(weights, ref, tol=1e-7).all())
    spent = ambiguity.divergence(weights, ref)
    assert spent.shape == (64,)
    if not isinstance(ambiguity, CVaR):  # radius 0.3 is below every corner: the ball is tight
        radius = torch.full_like(spent, ambiguity.radius)
        torch.testing.assert_close(spent, radius, atol=1e-7, rtol=0)


def test_w1_on_a_line_is_scipys_wasserstein_distance() -> None:
    gen = torch.Generator().manual_seed(1)
    points = torch.sort(torch.rand(7, generator=gen, dtype=torch.float64)).values
    ball = WassersteinBall(0.1, (points[:, None] - points[None, :]).abs())
    a, b = torch.rand(2, 7, generator=gen, dtype=torch.float64)
    a, b = a / a.sum(), b / b.sum()
    want = wasserstein_distance(points.numpy(), points.numpy(), b.numpy(), a.numpy())
    assert float(ball.divergence(b, a)) == pytest.approx(want, rel=1e-10)
    batch = ball.divergence(torch.stack([a, b]), a)
    assert float(batch[0]) == pytest.approx(0.0, abs=1e-15) and float(batch[1]) > 0


@pytest.mark.parametrize(
    ("w", "message"),
    [
        ([0.7, 0.7], "sum to 1"),
        ([1.2, -0.2], "non-negative"),
        ([float("nan"), 1.0], "finite"),
        ([[]], "K >= 1"),
    ],
)
def test_bad_distributions_are_one_line_errors(w: list, message: str) -> None:
    with pytest.raises(AmbiguitySetError, match=message):
        KLBall(0.1).divergence(torch.tensor(w, dtype=torch.float64), HALF)


def test_with_radius_keeps_everything_but_the_radius() -> None:
    cost = [[0.0, 1.0], [2.0, 0.0]]
    assert WassersteinBall(0.1, cost).with_radius(0.4) == WassersteinBall(0.4, cost)
    assert KLBall(0.1).with_radius(0.2) == KLBall(0.2) and Nominal().with_radius(0) == Nominal()
