"""Acquisitions on a mock posterior with hand-computed values (BoTorch's MockModel)."""

from __future__ import annotations

import math

import pytest
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.models.model import Model
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultitaskMultivariateNormal
from linear_operator.operators import DiagLinearOperator

from droiz.acquisition import (
    AdversaryWeights,
    HybridAcquisition,
    RobustUCB,
    SummedUCB,
    adversary_weights,
    beta_schedule,
    hybrid_weight,
    mixture_ei,
    mixture_ucb,
)
from droiz.ambiguity import CVaR, KLBall, Nominal

MEAN = torch.tensor([[[0.2, 0.6]], [[0.5, 0.5]]], dtype=torch.float64)  # b x q x K
VAR = torch.tensor([[[0.04, 0.01]], [[0.0025, 0.09]]], dtype=torch.float64)
REF = torch.tensor([0.5, 0.5], dtype=torch.float64)
X = torch.zeros(2, 1, 3, dtype=torch.float64)


class FixedModel(Model):
    """A K-output model whose posterior at the t-batches of X is MEAN, VAR (independent groups)."""

    num_outputs = 2

    def posterior(self, X, output_indices=None, observation_noise=False, posterior_transform=None):
        mvn = MultitaskMultivariateNormal(MEAN, DiagLinearOperator(VAR.reshape(2, -1)))
        post = GPyTorchPosterior(mvn)
        return post if posterior_transform is None else posterior_transform(post)


def _model() -> FixedModel:
    return FixedModel()


def test_beta_schedule_matches_the_paper() -> None:
    assert beta_schedule(1) == pytest.approx(2 * math.sqrt(2 * math.log(2)))
    assert beta_schedule(5) == pytest.approx(2 * math.sqrt(2 * math.log(6)))
    with pytest.raises(ValueError, match="from 1"):
        beta_schedule(0)


def test_robust_ucb_with_nominal_set_is_the_mixture_of_group_ucbs() -> None:
    acq = RobustUCB(_model(), beta=2.0, ambiguity=Nominal(), reference=REF)
    ucb = MEAN.squeeze(1) + 2.0 * VAR.squeeze(1).sqrt()  # [[0.6, 0.8], [0.6, 1.1]]
    torch.testing.assert_close(acq(X), ucb @ REF)


def test_summed_ucb_is_the_reference_sum_of_group_ucbs_and_above_the_joint_bonus() -> None:
    ref = torch.tensor([0.3, 0.7], dtype=torch.float64)
    ucb = MEAN.squeeze(1) + 2.0 * VAR.squeeze(1).sqrt()
    summed = SummedUCB(_model(), beta=2.0, reference=ref)(X)
    torch.testing.assert_close(summed, ucb @ ref)
    torch.testing.assert_close(summed, RobustUCB(_model(), 2.0, Nominal(), ref)(X))
    # the joint bonus beta sqrt(w' Sigma w) of independent groups is below the summed one
    joint = mixture_ucb(_model(), 2.0, ref)(X)
    assert (joint < summed - 1e-3).all()


def test_robust_ucb_with_cvar_half_is_the_worse_group_ucb() -> None:
    # CVaR(0.5) with two equally weighted groups is exactly the minimum
    acq = RobustUCB(_model(), beta=2.0, ambiguity=CVaR(0.5), reference=REF)
    torch.testing.assert_close(acq(X), torch.tensor([0.6, 0.6], dtype=torch.float64))
    assert acq.last_weights.tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_robust_ucb_kl_lies_between_min_and_mean_and_uses_the_solver() -> None:
    acq = RobustUCB(_model(), beta=1.0, ambiguity=KLBall(0.1), reference=REF)
    ucb = MEAN.squeeze(1) + VAR.squeeze(1).sqrt()
    expected = KLBall(0.1).worst_case(ucb, REF).value
    value = acq(X)
    torch.testing.assert_close(value, expected)
    assert (value < ucb @ REF).all() and (value > ucb.min(-1).values).all()


def test_mixture_ucb_uses_the_mixture_standard_deviation() -> None:
    acq = mixture_ucb(_model(), beta=2.0, reference=REF)
    mix_mean = MEAN.squeeze(1) @ REF
    mix_std = (VAR.squeeze(1) @ (REF**2)).sqrt()  # independent groups
    torch.testing.assert_close(acq(X), mix_mean + 2.0 * mix_std)


def test_mixture_ei_is_log_of_the_closed_form() -> None:
    best_f = 0.45
    acq = mixture_ei(_model(), best_f=best_f, reference=REF)
    m = MEAN.squeeze(1) @ REF
    s = (VAR.squeeze(1) @ (REF**2)).sqrt()
    u = (m - best_f) / s
    normal = torch.distributions.Normal(0.0, 1.0)
    ei = s * (u * normal.cdf(u) + normal.log_prob(u).exp())
    torch.testing.assert_close(acq(X).exp(), ei)


def test_hybrid_interpolates_and_schedule() -> None:
    robust = RobustUCB(_model(), beta=2.0, ambiguity=CVaR(0.5), reference=REF)
    nominal = mixture_ucb(_model(), beta=2.0, reference=REF)
    hyb = HybridAcquisition(robust, nominal, lam=0.25)
    torch.testing.assert_close(hyb(X), 0.25 * robust(X) + 0.75 * nominal(X))
    assert hybrid_weight(0.3) == 1.0 and hybrid_weight(0.6) == 1.0
    assert hybrid_weight(0.8) == pytest.approx(0.75) and hybrid_weight(1.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        HybridAcquisition(robust, nominal, lam=1.5)


def test_robust_ucb_gradient_flows_to_the_candidates() -> None:
    from droiz.surrogate import GroupGP

    gen = torch.Generator().manual_seed(0)
    z = torch.rand(12, 3, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.stack([z[:, 0], -z[:, 1]], -1)
    gp = GroupGP(z, y).fit(maxiter=20)
    acq = RobustUCB(gp, beta=1.0, ambiguity=KLBall(0.1), reference=REF)
    x = torch.zeros(4, 1, 3, dtype=torch.float64, requires_grad=True)
    acq(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_robust_acquisitions_report_their_adversary_weights_through_the_protocol() -> None:
    z = X.squeeze(1)  # n x d
    robust = RobustUCB(_model(), beta=2.0, ambiguity=CVaR(0.5), reference=REF)
    assert isinstance(robust, AdversaryWeights)
    assert adversary_weights(robust, z).tolist() == [[1.0, 0.0], [1.0, 0.0]]
    nominal = mixture_ucb(_model(), 2.0, REF)
    assert not isinstance(nominal, AdversaryWeights) and adversary_weights(nominal, z) is None
    hybrid = HybridAcquisition(robust, nominal, lam=0.5)
    assert adversary_weights(hybrid, z).tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert adversary_weights(HybridAcquisition(nominal, nominal, lam=0.5), z) is None


def test_any_acquisition_with_adversary_weights_reports_them() -> None:
    class Mine(AcquisitionFunction):  # a user's robust acquisition
        def forward(self, X: torch.Tensor) -> torch.Tensor:
            return X.sum((-1, -2))

        def adversary_weights(self, z: torch.Tensor) -> torch.Tensor:
            return torch.full((len(z), 2), 0.5, dtype=torch.float64)

    mine = Mine(_model())
    assert adversary_weights(mine, X.squeeze(1)).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    hybrid = HybridAcquisition(mine, mixture_ucb(_model(), 2.0, REF), lam=0.7)
    assert adversary_weights(hybrid, X.squeeze(1)).tolist() == [[0.5, 0.5], [0.5, 0.5]]
