"""Pearson chi-square ball ``{w in simplex : sum_k (w_k - ref_k)^2 / ref_k <= eps}``.

Dual (Namkoong & Duchi, sign-flipped for rewards): ``V = sup_tau tau - sqrt(1 + eps)
sqrt(E_ref (tau - u)_+^2)``, with ``w*_k ∝ ref_k (tau* - u_k)_+``. The optimal threshold solves
``E (tau - u)_+^2 / (E (tau - u)_+)^2 = 1 + eps``; on a segment between two sorted utilities this is
a quadratic with the closed-form root ``tau = mu + s / sqrt(eps S0 - T)`` (``S0``, ``mu``, ``s^2``:
reference mass, mean and variance of the active prefix, ``T = 1 - S0``), so one sort solves it
exactly. With every group active this is ``V = E_ref u - sqrt(eps) sd_ref(u)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet, min_over_support, shift_to_unit


@AMBIGUITY_SETS.register("chi2")
class Chi2Ball(AmbiguitySet):
    """Pearson chi-square ball of radius ``eps`` around ``ref``.

    Pearson's divergence is twice the "modified chi-square" ``phi(t) = (t - 1)^2 / 2`` of Tay et
    al. and Namkoong & Duchi: use ``eps = 2 eps_mod`` to match them. Groups with ``ref = 0`` always
    get weight 0. The dual variable is the threshold ``tau`` (``inf`` when ``eps = 0``).

    Args:
        eps: Radius, ``>= 0``.
    """

    name = "chi2"
    radius_name = "eps"
    dual_nonnegative = False

    def __init__(self, eps: float) -> None:
        super().__init__(eps)

    def _solve(self, u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
        eps = self.radius
        if eps == 0.0:
            return ref.expand_as(u).clone(), torch.full_like(u[..., 0], math.inf)
        supp = ref > 0
        v, u_min, spread = shift_to_unit(u, ref)
        is_min = supp & (v == 0)
        q_min = torch.where(is_min, ref, 0.0).sum(-1, keepdim=True)
        corner = eps * q_min >= torch.where(supp & ~is_min, ref, 0.0).sum(-1, keepdim=True)
        mu, kappa, tau, last = _threshold(v, ref, eps)
        # w ∝ ref (tau - v)_+ = ref (1 - kappa (v - mu))_+ / kappa, with kappa = 1 / (tau - mu)
        active = torch.where(supp, (1.0 - kappa * (v - mu)).clamp(min=0.0), 0.0) * ref
        # kappa is not finite when the active atoms' spread underflows (v_k - v_j < 1e-154):
        # they are ties to double precision, so share by reference mass.
        flat = torch.where(supp & (v <= last), ref, 0.0)
        active = torch.where(torch.isfinite(kappa), active, flat)
        w_corner = torch.where(is_min, ref, 0.0) / q_min
        weights = torch.where(corner, w_corner, active / active.sum(-1, keepdim=True))
        return weights, (u_min + spread * torch.where(corner, 0.0, tau)).squeeze(-1)

    def _divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """Pearson's ``sum_k (w_k - ref_k)^2 / ref_k`` (``inf`` when ``w`` has mass where
        ``ref`` has none)."""
        return torch.where((w > 0) | (ref > 0), (w - ref) ** 2 / ref, 0.0).sum(-1)

    def _dual(self, u: Tensor, ref: Tensor, dual: Tensor) -> Tensor:
        """``h(tau)``, with its limit ``h(inf) = E_ref u`` when eps = 0."""
        u_min = min_over_support(u, ref)
        v = torch.where(ref > 0, u - u_min, 0.0)
        tau = (dual.unsqueeze(-1) - u_min).clamp(max=1e300)
        gap = (ref * (tau - v).clamp(min=0.0) ** 2).sum(-1, keepdim=True)
        h = (u_min + tau - math.sqrt(1.0 + self.radius) * gap.sqrt()).squeeze(-1)
        at_inf = (ref * u).sum(-1) if self.radius == 0.0 else torch.full_like(h, -math.inf)
        return torch.where(torch.isinf(dual) & (dual > 0), at_inf, h)


def _threshold(v: Tensor, ref: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The active prefix's mean ``mu``, ``kappa = 1 / (tau - mu)``, the threshold ``tau`` and
    the largest active utility.

    Args:
        v: ``N x K`` shifted, scaled utilities in ``[0, 1]`` (0 off the support of ``ref``).
        ref: ``K`` reference distribution.
        eps: Radius ``> 0``.

    Returns:
        Four ``N x 1`` tensors (meaningless in corner rows, which the caller replaces).
    """
    vs, order = torch.sort(v, dim=-1)
    qs = ref.expand_as(v).gather(-1, order)
    c0, c1, c2 = qs.cumsum(-1), (qs * vs).cumsum(-1), (qs * vs * vs).cumsum(-1)
    tail = F.pad(qs.flip(-1).cumsum(-1).flip(-1), (0, 1))  # tail[i] = mass of atoms i.. (sorted)
    # Breakpoint i lies left of the root iff the ratio at tau = vs[i], computed on the prefix of
    # atoms before i, is still above 1 + eps: s^2 > (eps S0 - T) (vs[i] - mu)^2.
    s0, mu, var = _moments(_exclusive(c0), _exclusive(c1), _exclusive(c2))
    slack = eps * s0 - tail[..., :-1]
    left = (vs == 0) | (slack < 0) | (var > slack * (vs - mu) ** 2)
    vs = vs.contiguous()
    left = left.gather(-1, torch.searchsorted(vs, vs))  # tied atoms share their group's verdict
    m = left.long().cumprod(-1).sum(-1, keepdim=True)  # active prefix: the first m atoms
    s0, mu, var = _moments(c0.gather(-1, m - 1), c1.gather(-1, m - 1), c2.gather(-1, m - 1))
    full = m == v.shape[-1]
    mean = (ref * v).sum(-1, keepdim=True)  # with every atom active, use two-pass moments
    mu = torch.where(full, mean, mu)
    var = torch.where(full, (ref * (v - mean) ** 2).sum(-1, keepdim=True), var)
    slack = (eps * s0 - tail.gather(-1, m)).clamp(min=0.0).sqrt()
    sd, last = var.sqrt(), vs.gather(-1, m - 1)
    kappa = slack / sd
    return mu, kappa, torch.where(torch.isfinite(kappa), mu + sd / slack, last), last


def _exclusive(c: Tensor) -> Tensor:
    """Exclusive prefix sums from inclusive ones (``N x K``)."""
    return F.pad(c[..., :-1], (1, 0))


def _moments(s0: Tensor, s1: Tensor, s2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mass, mean and variance of a prefix from its sums of ``q``, ``q v`` and ``q v^2``."""
    safe = s0.clamp(min=1e-300)
    mu = s1 / safe
    return s0, mu, (s2 / safe - mu * mu).clamp(min=0.0)
