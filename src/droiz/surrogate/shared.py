"""Groups that share strength: ``f_t(z) = g(z) + h_t(z)``, one GP over the stacked observations.

Notation (shapes): ``n`` evaluated soft prompts, ``K`` groups, ``N`` observed (point, group) pairs,
``b`` test points, ``m`` the most observations of one group.

``g ~ GP(0, k_g)`` is shared by all groups and ``h_t ~ GP(0, k_h)`` are independent per-group
deviations, so

    cov(f_s(z), f_t(z')) = k_g(z, z') + [s = t] k_h(z, z').

All ``N`` observed pairs form one exact GP (one ``N x N`` Cholesky); the hyperparameters of
``k_g``, ``k_h`` and the noise are fitted jointly on its log posterior, exactly as
:class:`~droiz.surrogate.model.GroupGP` does (same standardisation, priors, L-BFGS-B loop). An
observation of group ``s`` thus informs every other group through ``g``.

Prediction uses the structure instead of ``K b`` separate ``N``-dimensional solves. With
``P = A^{-1}``, ``c_g = k_g(Z_obs, x)``, ``c_h = k_h(Z_obs, x)`` and ``c_t = c_g + D_t c_h``
(``D_t`` keeps the rows of group ``t``):

    mu_t  = c_g^T alpha + (D_t c_h)^T alpha,
    var_t = k_g(x) + k_h(x) - c_g^T P c_g - 2 (P c_g)^T D_t c_h - c_h^T D_t P D_t c_h,

which costs ``N^2 b + K m^2 b``. A reference mixture ``sum_t w_t f_t`` (what ``ucb``/``ei``
need) has the exact variance ``k_g + sum_t w_t^2 k_h - c_w^T P c_w`` with
``c_w = c_g + w_group * c_h``; :meth:`SharedGroupGP.posterior` uses it for a
``ScalarizedPosteriorTransform``. Without a transform, the posterior carries the exact marginals
of every group at every point (the cross-group covariances are not formed: no droiz
acquisition needs them, and they would cost ``K`` times more).
"""

from __future__ import annotations

import math
from typing import cast

import gpytorch
import torch
from botorch.acquisition.objective import PosteriorTransform, ScalarizedPosteriorTransform
from botorch.posteriors.gpytorch import GPyTorchPosterior
from botorch.posteriors.posterior import Posterior
from gpytorch.distributions import MultitaskMultivariateNormal, MultivariateNormal
from gpytorch.kernels import Kernel
from linear_operator.operators import DiagLinearOperator
from linear_operator.utils.cholesky import psd_safe_cholesky
from torch import Tensor

from droiz.surrogate.kernels import matern_kernel
from droiz.surrogate.model import GroupGP, cross_and_diag, pack_groups, to_unit

_MIN_VAR = 1e-10


class SharedGroupGP(GroupGP):
    """Exact GP with a shared latent function plus per-group deviations (see the module doc).

    Args:
        train_z: ``n x d`` soft prompts in ``[-1, 1]^d``.
        train_y: ``n x K`` observed per-group means; NaN where a group was not evaluated.
        kernel: ``k_g`` of the shared part (default: scaled ARD Matérn-5/2).
        deviation: ``k_h`` of the per-group deviations (default: scaled ARD Matérn-5/2).
    """

    def __init__(
        self,
        train_z: Tensor,
        train_y: Tensor,
        kernel: Kernel | None = None,
        deviation: Kernel | None = None,
    ) -> None:
        super().__init__(train_z, train_y, kernel=kernel)
        self.deviation = deviation if deviation is not None else matern_kernel(train_z.shape[-1])
        self.deviation.to(torch.float64)
        pairs = self.mask.nonzero()  # N x 2: (row, group), row-major
        self.obs_row, self.obs_group = pairs[:, 0], pairs[:, 1]
        group_mask = torch.zeros(len(pairs), self.num_outputs, dtype=torch.bool)
        group_mask[torch.arange(len(pairs)), self.obs_group] = True
        self.obs_index, self.obs_valid = pack_groups(group_mask)  # K x m into the N pairs

    @property
    def y_obs(self) -> Tensor:
        """Standardised targets of the ``N`` observed pairs."""
        return self.y_std[self.obs_row, self.obs_group]

    def _prior_parts(self) -> tuple[gpytorch.Module, ...]:
        return (self.kernel, self.deviation, self.likelihood)

    def _system(self) -> tuple[Tensor, Tensor]:
        """Cholesky factor ``N x N`` of the stacked covariance and ``alpha = A^{-1} y``."""
        x = to_unit(self.train_z)
        rows = self.obs_row
        kg = self.kernel(x, x).to_dense()[rows][:, rows]
        kh = self.deviation(x, x).to_dense()[rows][:, rows]
        same = self.obs_group.unsqueeze(-1) == self.obs_group.unsqueeze(-2)
        eye = torch.eye(len(rows), dtype=kg.dtype)
        a = kg + torch.where(same, kh, 0.0) + self.likelihood.noise * eye
        chol = psd_safe_cholesky(a)
        alpha = torch.cholesky_solve(self.y_obs.unsqueeze(-1), chol).squeeze(-1)
        return chol, alpha

    def log_marginal_likelihood(self) -> Tensor:
        chol, alpha = self._system()
        fit = -0.5 * (self.y_obs * alpha).sum()
        logdet = chol.diagonal().log().sum()
        return fit - logdet - 0.5 * len(alpha) * math.log(2 * math.pi)

    def _factors(self) -> tuple[Tensor, Tensor]:
        """``P = A^{-1}`` (``N x N``) and ``alpha`` (cached in eval mode)."""
        if self._cache is None:
            with torch.no_grad():
                chol, alpha = self._system()
                self._cache = (torch.cholesky_inverse(chol), alpha)
        return self._cache

    def _cross(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``c_g``, ``c_h`` at the observed pairs (``N x b``) and the prior variances (``b``)."""
        x, train = to_unit(z.to(torch.float64)), to_unit(self.train_z)
        cg, prior_g = cross_and_diag(self.kernel, train, x)
        ch, prior_h = cross_and_diag(self.deviation, train, x)
        return cg[self.obs_row], ch[self.obs_row], prior_g, prior_h

    def _by_group(self, values: Tensor) -> Tensor:
        """Sum the rows of ``values`` (``N x b``) per group: ``K x b``."""
        out = torch.zeros(self.num_outputs, values.shape[-1], dtype=values.dtype)
        return out.index_add(0, self.obs_group, values)

    def _predict(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance of every group at ``z`` (``b x d``), ``b x K`` each."""
        p, alpha = self._factors()
        cg, ch, prior_g, prior_h = self._cross(z)
        mean = (cg * alpha.unsqueeze(-1)).sum(0) + self._by_group(ch * alpha.unsqueeze(-1))
        pcg = p @ cg  # N x b
        valid = self.obs_valid.to(p.dtype)
        idx = self.obs_index
        p_blocks = (
            valid.unsqueeze(-1) * p[idx.unsqueeze(-1), idx.unsqueeze(-2)] * valid.unsqueeze(-2)
        )
        ch_t = valid.unsqueeze(-1) * ch[idx]  # K x m x b
        quad = (
            (pcg * cg).sum(0) + 2.0 * self._by_group(pcg * ch) + ((p_blocks @ ch_t) * ch_t).sum(-2)
        )
        var = (prior_g + prior_h - quad).clamp_min(_MIN_VAR)  # K x b
        return self.y_mean + self.y_scale * mean.T, self.y_scale**2 * var.T

    def predict_mixture(self, z: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
        """Exact posterior mean and variance of ``sum_t w_t f_t`` at ``z`` (``b`` each)."""
        p, alpha = self._factors()
        w = weights.to(torch.float64)
        cg, ch, prior_g, prior_h = self._cross(z)
        cw = cg + w[self.obs_group].unsqueeze(-1) * ch  # N x b
        mean = (cw * alpha.unsqueeze(-1)).sum(0)  # standardised, sum(w) = 1 assumed below
        var = w.sum() ** 2 * prior_g + (w**2).sum() * prior_h - ((p @ cw) * cw).sum(0)
        mu = (w * self.y_mean).sum() + self.y_scale * mean
        return mu, self.y_scale**2 * var.clamp_min(_MIN_VAR)

    def posterior(
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | Tensor = False,
        posterior_transform: PosteriorTransform | None = None,
        **kwargs: object,
    ) -> Posterior:
        """BoTorch posterior at ``X`` (``batch x 1 x d``): the exact marginals of all K groups,
        or the exact mixture posterior for a ``ScalarizedPosteriorTransform``."""
        if output_indices is not None or observation_noise or X.shape[-2] != 1:
            raise NotImplementedError("SharedGroupGP.posterior supports q = 1, all outputs")
        batch, d = X.shape[:-2], X.shape[-1]
        flat = X.reshape(-1, d)
        if isinstance(posterior_transform, ScalarizedPosteriorTransform):
            weights = cast(Tensor, posterior_transform.weights)  # a buffer
            mean, var = self.predict_mixture(flat, weights)
            mean = mean + posterior_transform.offset
            mvn = MultivariateNormal(
                mean.reshape(*batch, 1), DiagLinearOperator(var.reshape(*batch, 1))
            )
            return GPyTorchPosterior(mvn)
        mean, var = self.predict(flat)
        mvn = MultitaskMultivariateNormal(
            mean.reshape(*batch, 1, -1), DiagLinearOperator(var.reshape(*batch, -1))
        )
        post = GPyTorchPosterior(mvn)
        return post if posterior_transform is None else posterior_transform(post)
