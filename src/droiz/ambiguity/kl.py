"""Kullback-Leibler ball ``{w in simplex : KL(w || ref) <= eps}``.

Dual (Hu & Hong 2013; Ben-Tal et al. 2013): ``V = sup_{lam > 0} g(lam)`` with
``g(lam) = -lam log sum_k ref_k exp(-u_k / lam) - lam eps``. The optimal ``w*`` is the exponential
tilt ``w_k ∝ ref_k exp(-theta u_k)`` whose divergence ``KL(theta)`` equals ``eps``; ``KL(theta)``
increases from 0 (``theta = 0``) to ``-log Q_min`` (``theta -> inf``), where ``Q_min`` is the
reference mass of the minimisers of ``u``. The root is found by a safeguarded Newton method on
``theta = 1 / lam`` applied to ``sqrt(2 KL(theta)) - sqrt(2 eps)``, which is nearly linear in theta.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet, min_over_support, shift_to_unit

_MAX_ITER = 64
_STEP_RTOL = 1e-13  # stop when the Newton step is this small relative to theta,
_H_RTOL = 1e-14  # or sqrt(2 KL) matches sqrt(2 eps) to this relative precision
_FEAS_RTOL = 1e-12  # KL(w*) may exceed eps by this relative amount (rounding of the divergence)
_PSI_SERIES, _PSI_TERMS = 3e-3, 7  # psi's series to d^7 for |d| < 3e-3 (error < 1e-16 psi);
# beyond, the direct formula loses at most 2e-16 / |d| < 1e-13 to cancellation
_TIE_RTOL = 1e-12  # u_k within this fraction of the range of the minimum counts as a minimiser


class _Problem(NamedTuple):
    """A flat batch, shifted and scaled so that u spans [0, 1] on the support of ref."""

    v: Tensor  # N x K, (u - min u on supp(ref)) / range of u, in [0, 1]; 0 off the support
    q: Tensor  # K
    is_min: Tensor  # N x K, bool: minimisers of u on the support (with ties)


class _Tilt(NamedTuple):
    weights: Tensor  # N x K
    kl: Tensor  # N x 1, KL(weights || q)
    var: Tensor  # N x 1, variance of v under weights


@AMBIGUITY_SETS.register("kl")
class KLBall(AmbiguitySet):
    """KL ball of radius ``eps`` (nats) around ``ref``; the paper's default set (``eps = 0.1``).

    Mass cannot move to groups with ``ref = 0``: they always get weight 0. The dual variable of
    :meth:`worst_case_with_dual` is ``lam`` of ``g(lam)`` (0 at the corner, ``inf`` when
    ``eps = 0``).

    Args:
        eps: Radius, ``>= 0``.
    """

    name = "kl"
    radius_name = "eps"

    def __init__(self, eps: float) -> None:
        super().__init__(eps)

    def _solve(self, u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
        eps = self.radius
        if eps == 0.0:
            return ref.expand_as(u).clone(), torch.full_like(u[..., 0], math.inf)
        prob, spread = _shift(u, ref)
        q_min = torch.where(prob.is_min, ref, 0.0).sum(-1, keepdim=True)
        corner = (spread <= 0) | (eps >= -torch.log(q_min))
        theta, tilt = _newton(prob, eps, corner)
        w_corner = torch.where(prob.is_min, ref, 0.0) / q_min
        weights = torch.where(corner, w_corner, tilt.weights)
        lam = torch.where(corner, 0.0, spread / theta)  # theta is in units of 1 / range
        return weights, lam.squeeze(-1)

    def _divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """``KL(w || ref) = sum_k w_k log(w_k / ref_k)`` (``0 log 0 = 0``; ``inf`` when ``w``
        has mass where ``ref`` has none)."""
        return torch.where(w > 0, w * torch.log(w / ref), 0.0).sum(-1)

    def _dual(self, u: Tensor, ref: Tensor, dual: Tensor) -> Tensor:
        """``g(lam)``, with its limits ``g(0) = min u`` and ``g(inf) = E_ref u`` (if eps = 0)."""
        u_min = min_over_support(u, ref).squeeze(-1)
        lam = dual.clamp(min=1e-300).unsqueeze(-1)
        logq = torch.where(ref > 0, ref.log(), -math.inf)
        shifted = torch.where(ref > 0, u - u_min.unsqueeze(-1), 0.0)
        lse = torch.logsumexp(logq - shifted / lam, -1, keepdim=True)
        g = (u_min.unsqueeze(-1) - lam * lse - lam * self.radius).squeeze(-1)
        at_inf = (ref * u).sum(-1) if self.radius == 0.0 else torch.full_like(g, -math.inf)
        return torch.where(dual == 0, u_min, torch.where(torch.isinf(dual), at_inf, g))


def _shift(u: Tensor, ref: Tensor) -> tuple[_Problem, Tensor]:
    """Shift and scale ``u`` to ``v`` in ``[0, 1]``; also returns the ``N x 1`` range of u."""
    v, _, spread = shift_to_unit(u, ref)
    is_min = (ref > 0) & (v <= _TIE_RTOL)
    return _Problem(v, ref, is_min), spread


def _tilt(theta: Tensor, prob: _Problem) -> _Tilt:
    """Tilt ``w ∝ q exp(-theta v)``, ``KL(w || q)`` and ``Var_w(v)`` for ``N x 1`` theta (in
    units of 1 / range, as ``v`` spans ``[0, 1]``)."""
    x = -theta * prob.v
    e = torch.exp(x)  # <= 1, and 1 on the minimisers, so z >= Q_min: no overflow or underflow
    z = (prob.q * e).sum(-1, keepdim=True)
    w = prob.q * e / z
    dev = prob.v - (w * prob.v).sum(-1, keepdim=True)
    var = (w * dev * dev).sum(-1, keepdim=True)
    # KL = sum_k q_k psi(w_k / q_k - 1): a sum of non-negative terms, so no cancellation even
    # when KL is 1e-14 (the form -theta E_w v - log z loses all its digits there).
    kl = (prob.q * _psi(_ratio_minus_one(theta, x, e, z, prob.q))).sum(-1, keepdim=True)
    return _Tilt(w, kl, var)


def _ratio_minus_one(theta: Tensor, x: Tensor, e: Tensor, z: Tensor, q: Tensor) -> Tensor:
    """``w / q - 1 = e / z - 1``, accurate to the last digit near 0.

    For ``theta <= 1`` it comes from ``a = expm1(x)`` and ``s = E_q a = z - 1`` (terms of one
    sign) as ``(a - s) / (1 + s)``; for larger theta the ratio is far from 1 and ``e / z`` suffices.
    """
    a = torch.expm1(x)
    s = (q * a).sum(-1, keepdim=True)
    return torch.where(theta <= 1.0, (a - s) / (1.0 + s), e / z - 1.0)


def _psi(d: Tensor) -> Tensor:
    """``psi(d) = (1 + d) log(1 + d) - d >= 0``; near 0 by its series ``sum (-d)^n / (n (n-1))``."""
    series = torch.full_like(d, (-1) ** _PSI_TERMS / (_PSI_TERMS * (_PSI_TERMS - 1)))
    for n in range(_PSI_TERMS - 1, 1, -1):  # Horner: d^2 (1/2 - d/6 + d^2/12 - ...)
        series.mul_(d).add_((-1) ** n / (n * (n - 1)))
    direct = (1.0 + d) * torch.log1p(d.clamp(min=-1.0)) - d
    direct = torch.where(d <= -1.0, 1.0, direct)  # w = 0: 0 log 0 + 1
    return torch.where(d.abs() < _PSI_SERIES, series * d * d, direct).clamp(min=0.0)


def _newton(prob: _Problem, eps: float, done: Tensor) -> tuple[Tensor, _Tilt]:
    """Safeguarded Newton for ``sqrt(2 KL(theta)) = sqrt(2 eps)``; rows in ``done`` are skipped.

    Returns the ``N x 1`` root and the tilt there, on the feasible side ``KL <= eps``.
    """
    target, corner = math.sqrt(2.0 * eps), done
    lo = torch.full_like(done, math.sqrt(8.0 * eps), dtype=prob.v.dtype)  # Hoeffding, range 1:
    hi = torch.full_like(lo, math.inf)  # KL(theta) <= theta^2 / 8 <= eps at theta = lo
    mean = (prob.q * prob.v).sum(-1, keepdim=True)
    sd = ((prob.q * (prob.v - mean) ** 2).sum(-1, keepdim=True)).sqrt()
    theta = torch.maximum(target / sd.clamp(min=1e-300), lo)  # small-eps asymptotics
    for _ in range(_MAX_ITER):
        tilt = _tilt(theta, prob)
        h, slope = _residual(theta, tilt, target)
        lo = torch.where(h <= 0, torch.maximum(lo, theta), lo)
        hi = torch.where(h > 0, torch.minimum(hi, theta), hi)
        step = h / slope
        new = theta - step
        fallback = torch.where(torch.isinf(hi), 2.0 * theta, 0.5 * (lo + hi))
        new = torch.where((new >= lo) & (new <= hi), new, fallback)
        theta = torch.where(done, theta, new)
        small = (step.abs() <= _STEP_RTOL * theta) | (h.abs() <= _H_RTOL * target)
        done = done | small | (hi - lo <= _STEP_RTOL * lo)
        if bool(done.all()):
            break
    return _feasible(theta, lo, prob, eps, corner)


def _residual(theta: Tensor, tilt: _Tilt, target: float) -> tuple[Tensor, Tensor]:
    """``h = sqrt(2 KL) - sqrt(2 eps)`` and ``dh/dtheta = theta Var_w / sqrt(2 KL)``."""
    root = torch.sqrt(2.0 * tilt.kl)
    slope = theta * tilt.var / root.clamp(min=1e-300)
    return root - target, slope.clamp(min=1e-300)


def _feasible(
    theta: Tensor, lo: Tensor, prob: _Problem, eps: float, skip: Tensor
) -> tuple[Tensor, _Tilt]:
    """Pull a root that ended on the infeasible side back inside the ball.

    Overshoots within the rounding noise of the divergence (relative ``_FEAS_RTOL``) are kept; a
    larger one takes a doubled Newton step back, and if that fails, the feasible end ``lo``.
    """
    limit = eps * (1.0 + _FEAS_RTOL)
    tilt = _tilt(theta, prob)
    over = (tilt.kl > limit) & ~skip
    if bool(over.any()):
        h, slope = _residual(theta, tilt, math.sqrt(2.0 * eps))
        theta = torch.where(over, torch.maximum(theta - 2.0 * h / slope, lo), theta)
        tilt = _tilt(theta, prob)
        over = (tilt.kl > limit) & ~skip
        if bool(over.any()):
            theta = torch.where(over, lo, theta)
            tilt = _tilt(theta, prob)
    return theta, tilt
