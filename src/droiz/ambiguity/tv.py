"""Total-variation ball ``{w in simplex : ½ ||w - ref||_1 <= delta}``.

The adversary moves mass ``min(delta, 1 - Q_min)`` from the highest utilities onto the global
minimisers of ``u`` (which may have ``ref = 0``); equivalently
``V = delta min_k u_k + (1 - delta) CVaR_{1 - delta}(u; ref)`` for ``delta <= 1``. It is the
Wasserstein-1 ball with the discrete cost ``1[i != j]``, whose dual gives the one-dimensional
``V = sup_{lam >= 0} -lam delta + E_ref min(u, min_k u_k + lam)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet
from droiz.ambiguity.cvar import lower_tail


@AMBIGUITY_SETS.register("tv")
class TVBall(AmbiguitySet):
    """Total-variation ball of radius ``delta`` (half the L1 distance) around ``ref``.

    Tay et al. and the phi-divergence dual of Husain et al. use the L1 radius ``||w - ref||_1``:
    their ``eps`` is ``2 delta``. Mass can move onto groups with ``ref = 0``; ``delta >= 1`` puts
    everything on the minimum. The dual variable is ``lam`` (the utility gap above the minimum
    beyond which the adversary removes mass).

    Args:
        delta: Radius, ``>= 0`` (values above 1 act like 1).
    """

    name = "tv"
    radius_name = "delta"

    def __init__(self, delta: float) -> None:
        super().__init__(delta)

    def _solve(self, u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
        delta = self.radius
        u_min = u.amin(-1, keepdim=True)
        is_min = u == u_min
        q_min = torch.where(is_min, ref, 0.0).sum(-1, keepdim=True)
        rest = torch.where(is_min, 0.0, ref).sum(-1, keepdim=True)  # 1 - q_min, without rounding
        moved = rest.clamp(max=delta)
        top = lower_tail(-u, ref, moved)  # remove from the highest utilities
        weights = (ref - top.taken).clamp(min=0.0) + moved * _min_share(is_min, ref, q_min)
        corner = delta >= rest
        weights = torch.where(corner, _min_share(is_min, ref, q_min), weights)
        # top.below is the mass strictly above each atom: lam* is the smallest gap u_k - min u
        # with at most delta of the mass above it.
        lam = torch.where(top.below <= delta, u - u_min, torch.inf).amin(-1)
        return weights, torch.where(corner.squeeze(-1), 0.0, lam)

    def _divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """Half the L1 distance ``½ sum_k |w_k - ref_k|``."""
        return total_variation(w, ref)

    def _dual(self, u: Tensor, ref: Tensor, dual: Tensor) -> Tensor:
        """``-lam delta + E_ref min(u, min_k u_k + lam)``."""
        u_min = u.amin(-1, keepdim=True)
        lam = dual.unsqueeze(-1)
        capped = (ref * torch.minimum(u, u_min + lam)).sum(-1, keepdim=True)
        return (capped - lam * self.radius).squeeze(-1)


def total_variation(w: Tensor, ref: Tensor) -> Tensor:
    """``½ ||w - ref||_1`` of each row of ``w`` (``N x K``)."""
    return 0.5 * (w - ref).abs().sum(-1)


def _min_share(is_min: Tensor, ref: Tensor, q_min: Tensor) -> Tensor:
    """``N x K`` distribution on the minimisers: by reference mass, uniform if that is 0."""
    by_ref = torch.where(is_min, ref, 0.0) / q_min.clamp(min=1e-300)
    uniform = is_min.to(ref.dtype) / is_min.sum(-1, keepdim=True)
    return torch.where(q_min > 0, by_ref, uniform)
