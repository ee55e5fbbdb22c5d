"""Kernels over the soft prompt: a plain Matérn-5/2 and the instruction-coupled kernel.

Notation (shapes): ``n`` training points, ``d`` soft-prompt dimension, ``p`` instruction features
(per-example scores or a sentence embedding), ``b`` test points.

The instruction-coupled kernel follows InstructZero's ``CombinedStringKernel`` with three fixes
(``docs/surrogate.md``):

* Cholesky solves instead of ``torch.inverse`` (jitter relative to the mean diagonal);
* the feature kernel uses a weighted squared distance ``sum_e omega_e (f_ie - f_je)^2``, where the
  weights ``omega`` are fixed for the round (for score vectors: ``K w_t / |G_t|`` on the examples of
  group ``t``, so a uniform ``w`` gives the unweighted kernel). It is PSD for every weight vector;
* an additive latent Matérn term, so that the prior variance does not collapse away from the data
  and UCB still explores.

    k(z, z') = s_c * a(z)^T K_F a(z') + s_0 * matern(z, z'),
    a(z) = (K_ZZ + delta I)^{-1} k_Z(z).
"""

from __future__ import annotations

import math

import torch
from gpytorch.constraints import GreaterThan, Positive
from gpytorch.kernels import Kernel, MaternKernel, ScaleKernel
from gpytorch.priors import GammaPrior, LogNormalPrior
from linear_operator.utils.cholesky import psd_safe_cholesky
from torch import Tensor

_JITTER = 1e-4  # relative to the mean diagonal of K_ZZ, as InstructZero's 1e-4 I for unit scale


def latent_matern(dim: int) -> MaternKernel:
    """An ARD Matérn-5/2 kernel on inputs in ``[0, 1]^dim`` with BoTorch's dimension-scaled prior.

    The log-normal lengthscale prior (median ``sqrt(2 dim)``-ish scaled as in Hvarfner et al., 2024,
    BoTorch's default since 0.12) keeps the GP from over-fitting in 10 dimensions with 25 points.
    """
    prior = LogNormalPrior(loc=math.sqrt(2.0) + 0.5 * math.log(dim), scale=math.sqrt(3.0))
    return MaternKernel(
        nu=2.5,
        ard_num_dims=dim,
        lengthscale_prior=prior,
        lengthscale_constraint=GreaterThan(2.5e-2),
    )


def matern_kernel(dim: int) -> ScaleKernel:
    """The plain kernel: a scaled ARD Matérn-5/2 on the (unit-scaled) soft prompt."""
    return ScaleKernel(latent_matern(dim), outputscale_prior=GammaPrior(2.0, 0.15))


def _matern52(dist: Tensor) -> Tensor:
    root5 = math.sqrt(5.0) * dist
    return (1.0 + root5 + root5**2 / 3.0) * torch.exp(-root5)


def weighted_distance(f1: Tensor, f2: Tensor, omega: Tensor) -> Tensor:
    """Weighted Euclidean distance ``sqrt(sum_e omega_e (f1_ie - f2_je)^2)``.

    Args:
        f1: ``n1 x p`` features. f2: ``n2 x p`` features. omega: ``p`` non-negative weights.

    Returns:
        ``n1 x n2`` distances.
    """
    root = omega.clamp_min(0.0).sqrt()
    a, b = f1 * root, f2 * root
    sq = (a * a).sum(-1, keepdim=True) - 2.0 * a @ b.T + (b * b).sum(-1).unsqueeze(-2)
    return sq.clamp_min(1e-30).sqrt()


class InstructionCoupledKernel(Kernel):  # type: ignore[misc]  # gpytorch has no type hints
    r"""InstructZero's instruction-coupled kernel, done right (see the module docstring).

    The training latents ``Z`` (``n x d``), their instruction features ``F`` (``n x p``) and the
    feature weights ``omega`` (``p``) are fixed per round through :meth:`set_data`; the kernel is
    then a fixed PSD kernel on the soft prompt.

    Args:
        dim: Soft-prompt dimension ``d``.
    """

    has_lengthscale = False

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.latent = latent_matern(dim)
        self.register_parameter("raw_feature_lengthscale", torch.nn.Parameter(torch.zeros(1)))
        self.register_constraint("raw_feature_lengthscale", GreaterThan(1e-3))
        self.register_prior(
            "feature_lengthscale_prior",
            GammaPrior(3.0, 6.0),
            lambda m: m.feature_lengthscale,
            lambda m, v: m._set_feature_lengthscale(v),
        )
        self.register_parameter("raw_coupled_scale", torch.nn.Parameter(torch.zeros(1)))
        self.register_constraint("raw_coupled_scale", Positive())
        self.register_prior(
            "coupled_scale_prior",
            GammaPrior(2.0, 0.15),
            lambda m: m.coupled_scale,
            lambda m, v: m.initialize(
                raw_coupled_scale=m.raw_coupled_scale_constraint.inverse_transform(v)
            ),
        )
        self.addon = ScaleKernel(latent_matern(dim), outputscale_prior=GammaPrior(2.0, 2.0))
        self.register_buffer("train_z", torch.zeros(0, dim))
        self.register_buffer("features", torch.zeros(0, 1))
        self.register_buffer("omega", torch.ones(1))
        self._cache: tuple[Tensor, Tensor] | None = None
        self._train_cache: tuple[Tensor, Tensor] | None = None
        self._dist: Tensor | None = None

    @property
    def coupled_scale(self) -> Tensor:
        scale: Tensor = self.raw_coupled_scale_constraint.transform(self.raw_coupled_scale)
        return scale

    @property
    def feature_lengthscale(self) -> Tensor:
        raw = self.raw_feature_lengthscale
        lengthscale: Tensor = self.raw_feature_lengthscale_constraint.transform(raw)
        return lengthscale

    def _set_feature_lengthscale(self, value: Tensor) -> None:
        value = torch.as_tensor(value).to(self.raw_feature_lengthscale)
        inv = self.raw_feature_lengthscale_constraint.inverse_transform(value)
        self.initialize(raw_feature_lengthscale=inv)

    def set_data(self, train_z: Tensor, features: Tensor, omega: Tensor) -> None:
        """Fix the training latents ``n x d``, features ``n x p`` and weights ``p`` (per round)."""
        self.train_z = train_z
        self.features = features
        self.omega = omega
        self._cache = self._train_cache = self._dist = None

    def train(self, mode: bool = True) -> InstructionCoupledKernel:
        self._cache = self._train_cache = None
        super().train(mode)
        return self

    def _factors(self) -> tuple[Tensor, Tensor]:
        """Cholesky factor of ``K_ZZ + delta I`` and the feature Gram ``K_F`` (cached in eval)."""
        if self._cache is not None and not self.training:
            return self._cache
        kzz = self.latent(self.train_z).to_dense()
        jitter = _JITTER * kzz.diagonal().mean()
        chol = psd_safe_cholesky(kzz + jitter * torch.eye(len(kzz), dtype=kzz.dtype))
        kf = _matern52(self._feature_distance() / self.feature_lengthscale)
        result = (chol, kf)
        if not self.training:
            self._cache = result
        return result

    def _feature_distance(self) -> Tensor:
        """The weighted feature distances ``n x n``: no hyperparameter enters them, so they are
        computed once per :meth:`set_data` (not at every step of the fit)."""
        if self._dist is None:
            self._dist = weighted_distance(self.features, self.features, self.omega)
        return self._dist

    def _solve(self, x: Tensor, chol: Tensor) -> Tensor:
        """``a(x) = (K_ZZ + delta I)^{-1} k_Z(x)``, ``n x b``, given the factor of
        :meth:`_factors` (in training mode it is not cached, so it is computed once per call)."""
        return torch.cholesky_solve(self.latent(self.train_z, x).to_dense(), chol)

    def _projections(self) -> tuple[Tensor, Tensor]:
        """``M1 = a(Z)^T K_F C^{-1}`` and ``M2 = C^{-1} K_F C^{-1}`` (``n x n``, ``C = K_ZZ + delta
        I``), cached in eval mode: then ``k_c(Z, x) = M1 k_Z(x)`` and ``k_c(x, x) = k_Z(x)^T M2
        k_Z(x)``, two matrix products per batch of test points instead of two solves."""
        if self._train_cache is not None and not self.training:
            return self._train_cache
        chol, kf = self._factors()
        c_inv = torch.cholesky_inverse(chol)
        m2 = c_inv @ kf @ c_inv
        m1 = self.latent(self.train_z).to_dense() @ m2
        if not self.training:
            self._train_cache = (m1, m2)
        return m1, m2

    def cross_and_diag(self, train: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``k(train, x)`` (``n x b``) and the prior variance ``k(x, x)`` (``b``) in one pass
        (cached projections when ``train`` is the kernel's own ``Z``, see :meth:`_projections`)."""
        if self.training or not torch.equal(train, self.train_z):
            return self(train, x).to_dense(), self(x, diag=True)
        m1, m2 = self._projections()
        kx = self.latent(self.train_z, x).to_dense()  # n x b
        scale = self.coupled_scale
        cross = scale * (m1 @ kx) + self.addon(train, x).to_dense()
        diag = scale * ((m2 @ kx) * kx).sum(-2) + self.addon(x, x, diag=True)
        return cross, diag

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **kwargs: object) -> Tensor:
        chol, kf = self._factors()
        a1 = self._solve(x1, chol)  # n x b1
        scale = self.coupled_scale
        if diag:
            coupled = (a1 * (kf @ a1)).sum(-2)
            addon: Tensor = self.addon(x1, x2, diag=True)
            return scale * coupled + addon
        a2 = a1 if x2 is x1 else self._solve(x2, chol)
        coupled = a1.transpose(-1, -2) @ kf @ a2
        dense: Tensor = self.addon(x1, x2).to_dense()
        return scale * coupled + dense
