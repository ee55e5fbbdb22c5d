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

import gpytorch
import torch
from botorch.acquisition.objective import PosteriorTransform
from botorch.models.model import Model
from botorch.optim.closures import ForwardBackwardClosure
from botorch.optim.core import scipy_minimize
from botorch.posteriors.gpytorch import GPyTorchPosterior
from botorch.posteriors.posterior import Posterior
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
# torch.linalg re-exports LinAlgError from torch._C, whose stubs do not declare it
_NUMERICAL = (NotPSDError, NanError, torch.linalg.LinAlgError, SurrogateFitError)  # type: ignore[attr-defined]
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
        self.index, self.valid = pack_groups(self.mask)
        self.kernel = kernel if kernel is not None else matern_kernel(train_z.shape[-1])
        self.likelihood = GaussianLikelihood(
            noise_prior=LogNormalPrior(-4.0, 1.0), noise_constraint=GreaterThan(1e-6)
        )
        self.to(torch.float64)
        self._cache: tuple[Tensor, Tensor] | None = None
        self._memo: tuple[tuple[int, ...], Tensor, tuple[Tensor, Tensor]] | None = None

    @property
    def y_packed(self) -> Tensor:
        """Standardised targets of each group's system, ``K x m`` (0 on padded entries)."""
        cols = torch.arange(len(self.index)).unsqueeze(-1)
        return self.valid * self.y_std[self.index, cols]

    @property
    def num_outputs(self) -> int:
        return self.y_std.shape[-1]

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size()

    # ----------------------------------------------------------------- fitting
    def _system(self) -> tuple[Tensor, Tensor]:
        """Batched Cholesky factors ``K x m x m`` and weights ``alpha`` (``K x m``).

        Group ``t``'s system holds only its ``n_t`` observed rows, padded to ``m = max_t n_t``
        with decoupled rows (unit diagonal, zero target), so the cost is ``K m^3``, not ``K n^3``.
        """
        x = to_unit(self.train_z)
        gram = self.kernel(x, x).to_dense()
        idx, valid = self.index, self.valid.to(gram.dtype)  # K x m each
        m = idx.shape[-1]
        noisy = gram + self.likelihood.noise * torch.eye(len(gram), dtype=gram.dtype)
        block = noisy[idx.unsqueeze(-1), idx.unsqueeze(-2)]  # K x m x m
        a = valid.unsqueeze(-1) * block * valid.unsqueeze(-2) + torch.diag_embed(1.0 - valid)
        chol = psd_safe_cholesky(a) if m else a
        alpha = torch.cholesky_solve(self.y_packed.unsqueeze(-1), chol).squeeze(-1)
        return chol, alpha

    def _factors(self) -> tuple[Tensor, Tensor]:
        """``L^{-1}`` (``K x m x m``) and ``alpha`` of the fitted systems (cached in eval mode):
        a batched matrix product with ``L^{-1}`` is several times faster than a batched
        triangular solve at these sizes."""
        if self._cache is None:
            with torch.no_grad():
                chol, alpha = self._system()
                eye = torch.eye(chol.shape[-1], dtype=chol.dtype).expand_as(chol)
                self._cache = (torch.linalg.solve_triangular(chol, eye, upper=False), alpha)
        return self._cache

    def log_marginal_likelihood(self) -> Tensor:
        """Sum over groups of the exact log marginal likelihood of the observed entries."""
        chol, alpha = self._system()
        fit = -0.5 * (self.y_packed * alpha).sum()
        logdet = chol.diagonal(dim1=-2, dim2=-1).log().sum()
        return fit - logdet - 0.5 * int(self.mask.sum()) * math.log(2 * math.pi)

    def _prior_parts(self) -> tuple[gpytorch.Module, ...]:
        return (self.kernel, self.likelihood)

    def _log_prior(self) -> Tensor:
        total = torch.zeros((), dtype=torch.float64)
        for part in self._prior_parts():
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
        params: dict[str, Tensor] = {k: p for k, p in self.named_parameters() if p.requires_grad}
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

    def train(self, mode: bool = True) -> GroupGP:
        self._cache = self._memo = None
        return super().train(mode)

    # -------------------------------------------------------------- prediction
    def _latent(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Standardised posterior mean ``K x b``, solved cross-covariances ``K x m x b`` and the
        prior variance ``b`` at ``z``."""
        chol_inv, alpha = self._factors()
        x = to_unit(z.to(torch.float64))
        cross, prior = cross_and_diag(self.kernel, to_unit(self.train_z), x)  # n x b, b
        cross = self.valid.to(cross.dtype).unsqueeze(-1) * cross[self.index]  # K x m x b
        mean = (cross * alpha.unsqueeze(-1)).sum(-2)
        return mean, chol_inv @ cross, prior

    def predict(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance of every group at ``z`` (``b x d``), original units.

        Returns:
            ``(mean, var)``, each ``b x K``.
        """
        key = _memo_key(z)
        if key is not None and self._memo is not None and self._memo[0] == key:
            return self._memo[2]
        out = self._predict(z)
        # the memo holds z itself, so its storage cannot be freed and reused by another tensor
        self._memo = None if key is None else (key, z, out)
        return out

    def _predict(self, z: Tensor) -> tuple[Tensor, Tensor]:
        mean, v, prior = self._latent(z)
        var = (prior - (v * v).sum(-2)).clamp_min(_MIN_VAR)  # K x b
        return self.y_mean + self.y_scale * mean.T, self.y_scale**2 * var.T

    def posterior(
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | Tensor = False,
        posterior_transform: PosteriorTransform | None = None,
        **kwargs: object,
    ) -> Posterior:
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
        mean, v, _ = self._latent(X.reshape(-1, d))  # K x (B q), K x m x (B q)
        k_out = self.num_outputs
        v = v.reshape(k_out, -1, *batch, q).movedim(1, -2)  # K x batch x m x q
        prior = self.kernel(to_unit(X.to(torch.float64))).to_dense()  # batch x q x q
        cov = prior.unsqueeze(0) - v.transpose(-1, -2) @ v  # K x batch x q x q
        cov = self.y_scale**2 * cov.movedim(0, -3)  # batch x K x q x q
        eye = torch.eye(k_out, dtype=cov.dtype)
        full = torch.einsum("...tij,ts->...itjs", cov, eye).reshape(*batch, q * k_out, q * k_out)
        full = full + _MIN_VAR * torch.eye(q * k_out, dtype=cov.dtype)
        mu = self.y_mean + self.y_scale * mean.T.reshape(*batch, q, k_out)
        return MultitaskMultivariateNormal(mu, full)


def _memo_key(z: Tensor) -> tuple[int, ...] | None:
    """Identity of ``z``'s values without gradients: storage, layout and in-place version. Two
    acquisitions evaluated on the same candidates (the ``hybrid``'s robust and mixture parts, once
    per CMA-ES generation) then share one posterior computation."""
    if z.requires_grad or torch.is_grad_enabled():
        return None
    return (z.data_ptr(), z.storage_offset(), *z.shape, *z.stride(), z._version)


def pack_groups(mask: Tensor) -> tuple[Tensor, Tensor]:
    """Row indices of each group's observations, padded: ``(index K x m, valid K x m)``.

    ``m`` is the largest number of observations of a group; padded entries point at row 0 and
    are marked invalid.
    """
    counts = mask.sum(0)
    m = int(counts.max()) if len(counts) else 0
    order = torch.argsort((~mask).to(torch.int8), dim=0, stable=True)[:m].T  # K x m, observed first
    valid = torch.arange(m).unsqueeze(0) < counts.unsqueeze(-1)
    return torch.where(valid, order, 0), valid


def cross_and_diag(kernel: Kernel, train: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """``kernel(train, x)`` (``n x b``) and ``kernel(x, x)`` diagonal (``b``), in one pass where
    the kernel offers it (``cross_and_diag`` of the instruction-coupled kernels)."""
    joint = getattr(kernel, "cross_and_diag", None)
    if joint is not None:
        pair: tuple[Tensor, Tensor] = joint(train, x)
        return pair
    cross: Tensor = kernel(train, x).to_dense()
    diag: Tensor = kernel(x, diag=True)
    return cross, diag


def _fit_options(maxiter: int) -> dict[str, float]:
    # the fit is warm-started from the previous round; a relative tolerance of 1e-5 on the loss
    # per observation stops 1.5-2x sooner than 1e-6 for a loss within 1e-4 of it (measured on
    # the 150-point rounds of benchmarks/bench_engine.py, K = 8 and 32; docs/surrogate.md)
    return {"maxiter": maxiter, "ftol": 1e-5}


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
