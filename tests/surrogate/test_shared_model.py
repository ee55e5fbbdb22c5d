"""SharedGroupGP: exact against a dense stacked GP, shares strength, in RobustBO."""

from __future__ import annotations

import torch
from botorch.acquisition.objective import ScalarizedPosteriorTransform

from droiz import RobustBO
from droiz.surrogate import GroupGP, make_gp
from droiz.surrogate.shared import SharedGroupGP


def _data(n: int = 30, k: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.rand(n, 4, generator=gen, dtype=torch.float64) * 2 - 1
    dev = torch.stack([0.3 * torch.cos(3 * z[:, 1] + t) for t in range(k)], -1)
    y = torch.sin(2 * z[:, :1]) + dev
    mask = torch.rand(n, k, generator=gen) < 0.5
    mask[torch.arange(n), torch.arange(n) % k] = True
    return z, torch.where(mask, y, float("nan"))


def _dense(gp: SharedGroupGP, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean and full covariance over the stacked (point, group) test pairs."""
    xu, xt, k = (gp.train_z + 1) / 2, (x + 1) / 2, gp.num_outputs
    rows, grp = gp.obs_row, gp.obs_group

    def cov(a, ga, b, gb):
        same = ga.unsqueeze(-1) == gb.unsqueeze(-2)
        return gp.kernel(a, b).to_dense() + same * gp.deviation(a, b).to_dense()

    a = cov(xu[rows], grp, xu[rows], grp) + gp.likelihood.noise * torch.eye(len(rows))
    tz, tg = xt.repeat_interleave(k, 0), torch.arange(k).repeat(len(x))
    c = cov(xu[rows], grp, tz, tg)
    mean = c.T @ torch.linalg.solve(a, gp.y_obs)
    full = cov(tz, tg, tz, tg) - c.T @ torch.linalg.solve(a, c)
    return gp.y_mean + gp.y_scale * mean.reshape(-1, k), gp.y_scale**2 * full


def test_marginals_and_mixtures_equal_the_dense_stacked_gp() -> None:
    z, y = _data()
    gp = SharedGroupGP(z, y).fit(maxiter=30)
    x = torch.rand(6, 4, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        mean, var = gp.predict(x)
        d_mean, d_cov = _dense(gp, x)
        torch.testing.assert_close(mean, d_mean, rtol=1e-8, atol=1e-10)
        torch.testing.assert_close(var, d_cov.diagonal().reshape(-1, 3), rtol=1e-7, atol=1e-10)
        w = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
        blocks = d_cov.reshape(6, 3, 6, 3)
        d_var_w = torch.stack([w @ blocks[i, :, i, :] @ w for i in range(6)])
        post = gp.posterior(x.unsqueeze(-2), posterior_transform=ScalarizedPosteriorTransform(w))
        torch.testing.assert_close(post.mean.reshape(-1), d_mean @ w)
        torch.testing.assert_close(post.variance.reshape(-1), d_var_w, rtol=1e-7, atol=1e-10)


def test_fit_improves_the_joint_log_posterior() -> None:
    z, y = _data(n=40, seed=1)
    gp = SharedGroupGP(z, y)
    before = gp.loss().item()
    gp.fit()
    assert gp.loss().item() < before - 0.05
    assert set(dict(gp.named_parameters())) >= {
        "deviation.raw_outputscale",
        "kernel.raw_outputscale",
    }


def test_a_group_unobserved_in_a_region_borrows_from_the_others() -> None:
    gen = torch.Generator().manual_seed(2)
    z = torch.rand(60, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.sin(3 * z[:, :1]).repeat(1, 3) + 0.02 * torch.randn(60, 3, generator=gen)
    y = y.to(torch.float64)
    y[z[:, 0] > 0, 2] = float("nan")  # group 2 only seen on the left half
    x = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 2 - 1
    x[:, 0] = x[:, 0].abs()  # test on the right half
    truth = torch.sin(3 * x[:, 0])
    errors = {}
    for name, cls in (("shared", SharedGroupGP), ("independent", GroupGP)):
        gp = cls(z, y).fit()
        with torch.no_grad():
            errors[name] = ((gp.predict(x)[0][:, 2] - truth) ** 2).mean().sqrt().item()
    assert errors["shared"] < 0.5 * errors["independent"]


def test_engine_runs_a_bo_round_with_the_shared_surrogate() -> None:
    bo = RobustBO(
        dim=3, n_groups=4, budget=30, seed=0, surrogate="shared", n_init=15, batch_size=15
    )
    while not bo.done:
        proposal = bo.ask()
        y = torch.sin(proposal.z[:, :1] + torch.arange(4))
        bo.tell(proposal, torch.where(proposal.groups, y, float("nan")))
    assert isinstance(bo.surrogate(), SharedGroupGP)
    assert len(torch.unique(bo.obs.z, dim=0)) == 30
    restored = RobustBO.from_state_dict(bo.state_dict())
    assert restored.config.surrogate == "shared"
    gp = make_gp("matern", bo.obs.z, bo.obs.y, surrogate="shared", maxiter=5)
    assert gp.predict(bo.obs.z)[0].shape == (30, 4)
