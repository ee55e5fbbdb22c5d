"""GroupGP: the masked batched Cholesky equals independent per-group GPs on their own data."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from droiz.exceptions import ShapeError
from droiz.surrogate import GroupGP
from droiz.surrogate.model import to_unit


def _data(n: int = 30, k: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.rand(n, 4, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.stack([torch.sin(2 * z[:, 0] + t) for t in range(k)], -1)
    y = y + 0.05 * torch.randn(n, k, generator=gen, dtype=torch.float64)
    mask = torch.rand(n, k, generator=gen) < 0.5
    mask[torch.arange(n), torch.arange(n) % k] = True  # at least one group per row
    return z, torch.where(mask, y, float("nan"))


def _single_group_gp(gp: GroupGP, t: int) -> GroupGP:
    """A GP on group t's observed rows only, with gp's hyperparameters and standardisation."""
    rows = gp.mask[:, t]
    y = gp.y_mean[t] + gp.y_scale * gp.y_std[rows, t]
    single = GroupGP(gp.train_z[rows], y.unsqueeze(-1))
    single.load_state_dict(gp.state_dict(), strict=False)
    single.y_mean, single.y_scale = gp.y_mean[t : t + 1], gp.y_scale
    single.y_std = gp.y_std[rows, t : t + 1]
    return single.eval()


def test_masked_posterior_equals_per_group_gps() -> None:
    z, y = _data()
    gp = GroupGP(z, y).fit(maxiter=30)
    z_new = torch.rand(7, 4, dtype=torch.float64) * 2 - 1
    mean, var = gp.predict(z_new)
    for t in range(y.shape[-1]):
        m_t, v_t = _single_group_gp(gp, t).predict(z_new)
        torch.testing.assert_close(mean[:, t], m_t[:, 0], rtol=1e-8, atol=1e-9)
        torch.testing.assert_close(var[:, t], v_t[:, 0], rtol=1e-7, atol=1e-10)


def test_log_likelihood_matches_a_dense_mvn_per_group() -> None:
    z, y = _data(seed=1)
    gp = GroupGP(z, y)
    with torch.no_grad():
        ours = gp.log_marginal_likelihood()
        x = to_unit(z)
        total = torch.zeros((), dtype=torch.float64)
        for t in range(y.shape[-1]):
            rows = gp.mask[:, t]
            n_t = int(rows.sum())
            cov = gp.kernel(x[rows]).to_dense() + gp.likelihood.noise * torch.eye(n_t)
            mvn = MultivariateNormal(torch.zeros(n_t, dtype=torch.float64), cov)
            total = total + mvn.log_prob(gp.y_std[rows, t])
    assert ours.item() == pytest.approx(total.item(), rel=1e-10)


def test_fit_lowers_the_loss_and_predicts_held_out_points() -> None:
    z, y = _data(n=60, k=2, seed=2)
    gp = GroupGP(z, y)
    before = gp.loss().item()
    gp.fit()
    assert gp.loss().item() < before - 0.1
    z_new = torch.rand(50, 4, dtype=torch.float64) * 2 - 1
    truth = torch.stack([torch.sin(2 * z_new[:, 0] + t) for t in range(2)], -1)
    mean, _ = gp.predict(z_new)
    assert ((mean - truth) ** 2).mean().sqrt() < 0.2 * truth.std()


def test_unobserved_group_falls_back_to_the_global_mean_with_prior_variance() -> None:
    z, y = _data(n=20, k=3, seed=3)
    y[:, 2] = float("nan")
    y[0, 0] = 0.3  # make sure group 0 is observed somewhere
    gp = GroupGP(z, y).fit(maxiter=20)
    mean, var = gp.predict(torch.zeros(1, 4, dtype=torch.float64))
    observed = y[~torch.isnan(y)]
    assert mean[0, 2].item() == pytest.approx(observed.mean().item(), abs=1e-9)
    prior = gp.y_scale**2 * gp.kernel.outputscale
    assert var[0, 2].item() == pytest.approx(prior.item(), rel=1e-9)


def test_botorch_posterior_shapes_and_joint_marginals() -> None:
    z, y = _data(seed=4)
    gp = GroupGP(z, y).fit(maxiter=10)
    x = torch.rand(5, 3, 4, dtype=torch.float64) * 2 - 1
    post = gp.posterior(x)
    assert post.mean.shape == (5, 3, 3)
    mean, var = gp.predict(x.reshape(-1, 4))
    torch.testing.assert_close(post.mean.reshape(-1, 3), mean)
    torch.testing.assert_close(post.variance.reshape(-1, 3), var + 1e-10)
    single = gp.posterior(x[:, :1])
    assert single.mean.shape == (5, 1, 3)


def test_posterior_is_differentiable_in_x() -> None:
    z, y = _data(seed=5)
    gp = GroupGP(z, y).fit(maxiter=10)
    x = torch.zeros(2, 1, 4, dtype=torch.float64, requires_grad=True)
    gp.posterior(x).mean.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_bad_training_data_is_rejected() -> None:
    z, y = _data()
    with pytest.raises(ShapeError, match="same n"):
        GroupGP(z[:-1], y)
    with pytest.raises(ShapeError, match="at least one observation"):
        GroupGP(z, torch.full_like(y, math.nan))


def test_hybrid_computes_one_posterior_per_candidate_batch(monkeypatch) -> None:
    from droiz.acquisition import HybridAcquisition, RobustUCB, mixture_ucb
    from droiz.ambiguity import KLBall

    z, y = _data(seed=6)
    gp = GroupGP(z, y).fit(maxiter=10)
    ref = torch.full((3,), 1 / 3, dtype=torch.float64)
    hybrid = HybridAcquisition(RobustUCB(gp, 2.0, KLBall(0.5), ref), mixture_ucb(gp, 2.0, ref), 0.7)
    calls = []
    original = gp._predict
    monkeypatch.setattr(gp, "_predict", lambda x: calls.append(1) or original(x))
    x = torch.rand(40, 1, 4, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        value = hybrid(x)
        assert len(calls) == 1
        x.add_(0.0)  # an in-place change invalidates the memo
        hybrid(x)
        assert len(calls) == 2
        fresh = torch.rand(40, 1, 4, dtype=torch.float64) * 2 - 1
        mean, var = gp._predict(fresh.squeeze(-2))
        robust = RobustUCB(gp, 2.0, KLBall(0.5), ref)(fresh)
        nominal = mean @ ref + 2.0 * (var @ ref**2).sqrt()
        torch.testing.assert_close(hybrid(fresh), 0.7 * robust + 0.3 * nominal)
    assert value.shape == (40,)
