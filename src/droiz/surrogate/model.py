"""A GP over K groups with hyperparameters shared across groups (batched, masked Cholesky).

Notation (shapes): ``n`` evaluated soft prompts, ``d`` soft-prompt dimension, ``K`` groups,
``b`` test points, ``q`` joint points per t-batch.

Every group ``t`` is an independent GP ``f_t ~ GP(m_t, k)`` with one kernel ``k`` (lengthscales,
output scale and noise shared by all groups) observed only where ``mask[:, t]`` is true. Each group
thus has its own training set, and all K systems are solved in one batched Cholesky of the
``K x n x n`` matrices

    A_t = diag(m_t) (K_ZZ + s2 I) diag(m_t) + diag(1 - m_t),

where the unobserved rows are decoupled (unit diagonal, zero target, zero cross-covariance). This is
exact: the decoupled rows contribute nothing to the posterior and a constant to the likelihood.
Why this and not an ICM multi-task GP: see ``docs/surrogate.md`` (measured: same accuracy in the
simulated benchmark, a K-fold smaller joint system, and a cost that stays flat when all K groups
are observed).

Targets are standardised per group mean with one pooled scale, so that a shared output scale is
meaningful; predictions are returned in the original units.
"""

from __future__ import annotations

import logging
import math

import torch
from botorch.models.model import Model
from botorch.optim.closures import ForwardBackwardClosure
from botorch.optim.core import scipy_minimize
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.constraints import GreaterThan
from gpytorch.distributions import MultitaskMultivariateNormal
from gpytorch.kernels import Kernel
from gpytorch.likelihoods import GaussianLikelihood
from gpytorch.priors import LogNormalPrior
from linear_operator.operators import DiagLinearOperator
from linear_operator.utils.cholesky import psd_safe_cholesky
from linear_operator.utils.errors import NanError, NotPSDError
from torch import Tensor

from droiz.exceptions import ShapeError, SurrogateFitError
from droiz.surrogate.kernels import matern_kernel

logger = logging.getLogger(__name__)

_MIN_VAR = 1e-10
_NUMERICAL = (NotPSDError, NanError, torch.linalg.LinAlgError, SurrogateFitError)
"""The fit failures that fall back to the previous hyperparameters (everything else raises): a
Cholesky factor that is not positive definite after jitter, or of a matrix with NaN (diverged
hyperparameters), and a non-finite likelihood."""


def to_unit(z: Tensor) -> Tensor:
    """Map soft prompts from ``[-1, 1]^d`` to the unit cube the kernel priors are scaled for."""
    return (z + 1.0) / 2.0


class GroupGP(Model):
    r"""Exact GP over K groups sharing one kernel, with per-group missing observations.

    Args:
        train_z: ``n x d`` soft prompts in ``[-1, 1]^d``.
        train_y: ``n x K`` observed per-group means; NaN where a group was not evaluated.
        kernel: A gpytorch kernel on the unit cube (default: scaled ARD Matérn-5/2). It is
            shared by all groups.

    Example:
        >>> gp = GroupGP(z, y)
        >>> gp.fit()
        >>> mean, var = gp.predict(z_new)  # b x K each
    """

    def __init__(self, train_z: Tensor, train_y: Tensor, kernel: Kernel | None = None) -> None:
        super().__init__()
        _check_train(train_z, train_y)
        self.train_z = train_z.to(torch.float64)
        self.mask = ~torch.isnan(train_y)
        y = train_y.to(torch.float64)
        self.y_mean, self.y_scale = _standardise_stats(y, self.mask)
        self.y_std = torch.where(self.mask, (y - self.y_mean) / self.y_scale, 0.0)
        self.kernel = kernel if kernel is not None else matern_kernel(train_z.shape[-1])
        self.likelihood = GaussianLikelihood(
            noise_prior=LogNormalPrior(-4.0, 1.0), noise_constraint=GreaterThan(1e-6)
        )
        self.to(torch.float64)
        self._cache: tuple[Tensor, Tensor] | None = None

    @property
    def num_outputs(self) -> int:
        return self.y_std.shape[-1]

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size()

    # ----------------------------------------------------------------- fitting
    def _system(self) -> tuple[Tensor, Tensor]:
        """Batched Cholesky factors ``K x n x n`` and weights ``alpha`` (``K x n``)."""
        x = to_unit(self.train_z)
        gram = self.kernel(x, x).to_dense()
        n = gram.shape[-1]
        eye = torch.eye(n, dtype=gram.dtype)
        m = self.mask.T.to(gram.dtype)  # K x n
        noisy = gram + self.likelihood.noise * eye
        a = m.unsqueeze(-1) * noisy * m.unsqueeze(-2) + torch.diag_embed(1.0 - m)
        chol = psd_safe_cholesky(a)
        alpha = torch.cholesky_solve(self.y_std.T.unsqueeze(-1), chol).squeeze(-1)
        return chol, alpha

    def log_marginal_likelihood(self) -> Tensor:
        """Sum over groups of the exact log marginal likelihood of the observed entries."""
        chol, alpha = self._system()
        fit = -0.5 * (self.y_std.T * alpha).sum()
        logdet = chol.diagonal(dim1=-2, dim2=-1).log().sum()
        return fit - logdet - 0.5 * int(self.mask.sum()) * math.log(2 * math.pi)

    def _log_prior(self) -> Tensor:
        total = torch.zeros((), dtype=torch.float64)
        for part in (self.kernel, self.likelihood):
            for _, module, prior, closure, _ in part.named_priors():
                total = total + prior.log_prob(closure(module)).sum()
        return total

    def loss(self) -> Tensor:
        """Negative log posterior of the hyperparameters per observation (the fit objective)."""
        return -(self.log_marginal_likelihood() + self._log_prior()) / int(self.mask.sum())

    def fit(self, maxiter: int = 200) -> GroupGP:
        """Fit the shared hyperparameters by L-BFGS-B on the log posterior (BoTorch's scipy loop).

        Starts from the current hyperparameters (warm start). Only the numerical failures it
        expects (a Cholesky factor that is not positive definite even after jitter or has NaN
        entries, a non-finite likelihood) restore the previous values with a warning; anything
        else (a bug) raises.
        """
        self.train()
        params = {k: p for k, p in self.named_parameters() if p.requires_grad}
        backup = {k: p.detach().clone() for k, p in params.items()}
        try:
            with torch.enable_grad():
                scipy_minimize(
                    ForwardBackwardClosure(self.loss, params), params, options=_fit_options(maxiter)
                )
                loss = self.loss()
            if not torch.isfinite(loss):
                raise SurrogateFitError("the GP fit produced a non-finite log likelihood")
        except _NUMERICAL as exc:  # expected numerical failures: fall back, keep going
            logger.warning("GP hyperparameter fit failed (%s); keeping previous values", exc)
            with torch.no_grad():
                for k, p in params.items():
                    p.copy_(backup[k])
        self.eval()
        return self

    def train(self, mode: bool = True) -> GroupGP:  # type: ignore[override]
        self._cache = None
        return super().train(mode)

    # -------------------------------------------------------------- prediction
    def _factors(self) -> tuple[Tensor, Tensor]:
        if self._cache is None:
            with torch.no_grad():
                chol, alpha = self._system()
            self._cache = (chol, alpha)
        return self._cache

    def _latent(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Standardised posterior mean ``K x b`` and solved cross-covariances ``K x n x b``."""
        chol, alpha = self._factors()
        x = to_unit(z.to(torch.float64))
        cross = self.kernel(to_unit(self.train_z), x).to_dense()  # n x b
        cross = self.mask.T.to(cross.dtype).unsqueeze(-1) * cross  # K x n x b
        mean = (cross * alpha.unsqueeze(-1)).sum(-2)
        v = torch.linalg.solve_triangular(chol, cross, upper=False)
        return mean, v

    def predict(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance of every group at ``z`` (``b x d``), original units.

        Returns:
            ``(mean, var)``, each ``b x K``.
        """
        mean, v = self._latent(z)
        prior = self.kernel(to_unit(z.to(torch.float64)), diag=True)  # b
        var = (prior - (v * v).sum(-2)).clamp_min(_MIN_VAR)  # K x b
        return self.y_mean + self.y_scale * mean.T, self.y_scale**2 * var.T

    def posterior(  # type: ignore[override]
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool = False,
        posterior_transform: object = None,
        **kwargs: object,
    ) -> GPyTorchPosterior:
        """BoTorch posterior over all K groups at ``X`` (``batch x q x d``).

        Groups are independent given the data; the ``q`` points of a t-batch are joint.
        """
        if output_indices is not None or observation_noise:
            raise NotImplementedError("GroupGP.posterior supports all outputs, no noise")
        batch, (q, d) = X.shape[:-2], X.shape[-2:]
        flat = X.reshape(-1, d)
        if q == 1:
            mean, var = self.predict(flat)
            mvn = MultitaskMultivariateNormal(
                mean.reshape(*batch, 1, -1), DiagLinearOperator(var.reshape(*batch, -1))
            )
        else:
            mvn = self._joint(X)
        post = GPyTorchPosterior(mvn)
        return post if posterior_transform is None else posterior_transform(post)

    def _joint(self, X: Tensor) -> MultitaskMultivariateNormal:
        """Joint posterior over ``q`` points (interleaved ``q*K`` covariance)."""
        batch, (q, d) = X.shape[:-2], X.shape[-2:]
        mean, v = self._latent(X.reshape(-1, d))  # K x (B q), K x n x (B q)
        k_out = self.num_outputs
        v = v.reshape(k_out, -1, *batch, q).movedim(1, -2)  # K x batch x n x q
        prior = self.kernel(to_unit(X.to(torch.float64))).to_dense()  # batch x q x q
        cov = prior.unsqueeze(0) - v.transpose(-1, -2) @ v  # K x batch x q x q
        cov = self.y_scale**2 * cov.movedim(0, -3)  # batch x K x q x q
        eye = torch.eye(k_out, dtype=cov.dtype)
        full = torch.einsum("...tij,ts->...itjs", cov, eye).reshape(*batch, q * k_out, q * k_out)
        full = full + _MIN_VAR * torch.eye(q * k_out, dtype=cov.dtype)
        mu = self.y_mean + self.y_scale * mean.T.reshape(*batch, q, k_out)
        return MultitaskMultivariateNormal(mu, full)


def _fit_options(maxiter: int) -> dict[str, float]:
    # ftol 1e-6 halves the iterations of scipy's default for a change in the loss (per
    # observation) below 1e-3, measured on 150 x 10 problems
    return {"maxiter": maxiter, "ftol": 1e-6}


def _check_train(train_z: Tensor, train_y: Tensor) -> None:
    if train_z.dim() != 2 or train_y.dim() != 2 or len(train_z) != len(train_y):
        raise ShapeError(
            f"expected train_z n x d and train_y n x K with the same n, got "
            f"{tuple(train_z.shape)} and {tuple(train_y.shape)}"
        )
    if len(train_z) == 0 or torch.isnan(train_y).all():
        raise ShapeError("the GP needs at least one observation; tell() some evaluations first")


def masked_mean(y: Tensor, mask: Tensor, fallback: Tensor | float) -> Tensor:
    """Column means of ``y`` (``n x K``) over the rows where ``mask`` holds; ``fallback`` for a
    column with no such row. Values of ``y`` outside ``mask`` (NaN included) are ignored."""
    counts = mask.sum(0)
    sums = torch.where(mask, y, 0.0).sum(0)
    return torch.where(counts > 0, sums / counts.clamp_min(1), fallback)


def _standardise_stats(y: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Per-group means ``K`` (global mean for unobserved groups) and one pooled scale."""
    mean = masked_mean(y, mask, y[mask].mean())
    counts = mask.sum(0)
    resid = torch.where(mask, y - mean, 0.0)
    dof = (mask.sum() - (counts > 0).sum()).clamp_min(1)
    scale = (resid.pow(2).sum() / dof).sqrt()
    return mean, scale if scale > 1e-6 else torch.ones((), dtype=y.dtype)
