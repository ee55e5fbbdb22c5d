"""The synthetic DRBO problem (``docs/bench.md``): a GP-sampled function on a 20 x 20 grid.

* Actions ``x`` and contexts ``c`` are 20 evenly spaced points of ``[0, 1]`` each.
* The objective is sampled from a GP prior as in Tay et al.'s ``sample_GP_prior``: an SE kernel
  (lengthscale 0.05, variance 1) on 100 uniform support points of ``[0, 1]^2``, values drawn with
  jitter ``1e-3`` and interpolated by the kernel (the posterior mean through them).
* The reference distribution is the discretised ``N(0, 0.02)`` on the contexts (mean 0, variance
  0.02: shifted to the low end), floored at ``1e-3 / K`` and renormalised; the true distribution
  (the one contexts are drawn from) is uniform.
* The radius of each ball is the divergence of the true distribution from the reference as that
  ball measures it (:meth:`~droiz.ambiguity.AmbiguitySet.divergence`), so the true distribution
  lies on the boundary of the ball.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from droiz.ambiguity import AmbiguitySet, WassersteinBall, parse_ambiguity
from droiz.optim.reference import floor_weights

GRID = 20
LENGTHSCALE = 0.05
NOISE_VAR = 1e-3
SUPPORT_POINTS = 100
REF_MEAN, REF_VAR = 0.0, 0.02
SETS = ("kl", "tv", "chi2", "w1")


def se_kernel(a: Tensor, b: Tensor, lengthscale: float = LENGTHSCALE) -> Tensor:
    """Squared-exponential kernel with unit variance between the rows of ``a`` and ``b``."""
    return torch.exp(-torch.cdist(a, b).square() / (2.0 * lengthscale**2))


@dataclass(frozen=True)
class DRBOProblem:
    """One seed's problem.

    Attributes:
        f: ``A x C`` true objective. inputs: ``(A C) x 2`` grid points ``(x, c)``, row ``a C + c``.
        contexts: ``C`` context positions. ref: ``C`` reference. true: ``C`` true distribution.
        prior: ``(A C) x (A C)`` prior covariance of the model (the known kernel).
    """

    f: Tensor
    inputs: Tensor
    contexts: Tensor
    ref: Tensor
    true: Tensor
    prior: Tensor

    @property
    def n_actions(self) -> int:
        return self.f.shape[0]

    @property
    def n_contexts(self) -> int:
        return self.f.shape[1]


def make_problem(seed: int, grid: int = GRID) -> DRBOProblem:
    """The objective, distributions and prior of one seed (deterministic given ``seed``)."""
    gen = torch.Generator().manual_seed(int(seed))
    axis = torch.linspace(0.0, 1.0, grid, dtype=torch.float64)
    inputs = torch.cartesian_prod(axis, axis)  # (x, c), action-major
    support = torch.rand(SUPPORT_POINTS, 2, generator=gen, dtype=torch.float64)
    cov = se_kernel(support, support) + 1e-3 * torch.eye(SUPPORT_POINTS, dtype=torch.float64)
    chol = torch.linalg.cholesky(cov)
    values = chol @ torch.randn(SUPPORT_POINTS, generator=gen, dtype=torch.float64)
    f = se_kernel(inputs, support) @ torch.cholesky_solve(values[:, None], chol).squeeze(-1)
    density = torch.exp(-((axis - REF_MEAN) ** 2) / (2.0 * REF_VAR))
    ref = floor_weights(density / density.sum())
    true = torch.full((grid,), 1.0 / grid, dtype=torch.float64)
    return DRBOProblem(f.reshape(grid, grid), inputs, axis, ref, true, se_kernel(inputs, inputs))


def ground_cost(contexts: Tensor) -> Tensor:
    """The W1 ground cost ``|c - c'|`` between contexts."""
    return (contexts[:, None] - contexts[None, :]).abs()


def unit_ball(name: str, contexts: Tensor) -> AmbiguitySet:
    """The ball ``name`` (a spec name) of radius 0 on the contexts; W1 under the ground cost
    ``|c - c'|`` (:func:`ground_cost`)."""
    if name == "w1":
        return WassersteinBall(0.0, ground_cost(contexts))
    return parse_ambiguity(f"{name}:0")


def radius(name: str, true: Tensor, ref: Tensor, contexts: Tensor) -> float:
    """``D(true || ref)`` as droiz's ball ``name`` measures it (``docs/ambiguity.md``)."""
    return float(unit_ball(name, contexts).divergence(true, ref))


def ambiguity_set(name: str, problem: DRBOProblem) -> AmbiguitySet:
    """The ball ``name`` around the reference whose boundary holds the true distribution."""
    ball = unit_ball(name, problem.contexts)
    return ball.with_radius(float(ball.divergence(problem.true, problem.ref)))


def has_wcs(name: str) -> bool:
    """Whether the worst-case-sensitivity approximation is defined for the set ``name``."""
    return name in ("tv", "chi2", "w1")


def wcs_values(name: str, u: Tensor, ref: Tensor, eps: float, contexts: Tensor) -> Tensor:
    """The worst-case-sensitivity approximation ``E_ref u - eps-term * S(u)`` per row of ``u``.

    Tay et al.'s sensitivities, in droiz's conventions (``docs/ambiguity.md``):

    * TV (``delta`` = half the L1 radius): ``S = max u - min u``, term ``delta``
      (Tay: ``eps_L1 * (max - min) / 2``);
    * chi-square (Pearson ``eps``): ``S = sd_ref(u)``, term ``sqrt(eps)`` (Tay's modified
      chi-square ``sqrt(eps_mod) sqrt(2 Var)`` with ``eps = 2 eps_mod``); exact while no weight
      hits zero;
    * W1 (ground cost ``|c - c'|``): ``S`` = the Lipschitz constant of ``u`` over the contexts (the
      largest slope between neighbours), term ``eps`` (WDRBO's ``Wasserstein_UCB``).

    Tay et al. define no sensitivity term for KL; :func:`has_wcs` is False for it and this raises.
    """
    mean = u @ ref
    if name == "tv":
        return mean - eps * (u.amax(-1) - u.amin(-1))
    if name == "chi2":
        sd = ((u - mean[..., None]) ** 2 @ ref).clamp_min(0.0).sqrt()
        return mean - math.sqrt(eps) * sd
    if name == "w1":
        slope = (torch.diff(u, dim=-1) / torch.diff(contexts)).abs().amax(-1)
        return mean - eps * slope
    raise ValueError(f"the worst-case-sensitivity approximation is not defined for {name!r}")
