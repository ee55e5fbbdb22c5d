"""Conditional value at risk ``CVaR_alpha``: ``{w in simplex : w_k <= ref_k / alpha}``.

``CVaR_alpha(u)`` is the mean of the worst (lowest) alpha-fraction of ``u`` under ``ref``: alpha = 1
gives ``E_ref u``, alpha -> 0 the minimum over the support of ``ref``. One sort solves it exactly.
Dual (Rockafellar & Uryasev): ``V = sup_tau tau - E_ref (tau - u)_+ / alpha``, attained at the lower
alpha-quantile of ``u``. :func:`lower_tail` is shared with the TV ball.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet
from droiz.exceptions import AmbiguitySetError


class Tail(NamedTuple):
    """Reference mass taken from the lower tail of ``u``.

    Attributes:
        taken: ``N x K`` mass taken from each atom (in ``[0, ref_k]``, summing to the budget).
        below: ``N x K`` reference mass of the atoms strictly below each atom.
    """

    taken: Tensor
    below: Tensor


def lower_tail(u: Tensor, ref: Tensor, budget: Tensor | float) -> Tail:
    """Take reference mass from the lowest ``u`` upward until ``budget`` is spent.

    Tied atoms are treated as one group and share what the group gives proportionally to their
    reference mass, so the result does not depend on the order of ties.

    Args:
        u: ``N x K`` utilities.
        ref: ``K`` reference distribution.
        budget: Mass to take, a float or ``N x 1`` (more than 1 takes everything).

    Returns:
        :class:`Tail` with the mass taken from each atom and the mass strictly below it.
    """
    u = u.contiguous()
    sorted_u, order = torch.sort(u, dim=-1)
    cum = F.pad(ref.expand_as(u).gather(-1, order).cumsum(-1), (1, 0))  # cum[i]: first i atoms
    below = cum.gather(-1, torch.searchsorted(sorted_u, u, right=False))
    upto = cum.gather(-1, torch.searchsorted(sorted_u, u, right=True))  # with the tie group
    group = upto - below
    share = upto.clamp(max=budget) - below.clamp(max=budget)
    frac = torch.where(group > 0, share / group.clamp(min=1e-300), 0.0)
    return Tail(ref * frac, below)


@AMBIGUITY_SETS.register("cvar")
class CVaR(AmbiguitySet):
    """Lower-tail CVaR at level ``alpha``: the mean of the worst alpha-fraction of groups.

    A smaller ``alpha`` is more pessimistic (the set is the likelihood ratios bounded by
    ``1 / alpha``). With uniform ``ref`` over ``n`` groups, BoTorch's ``CVaR(alpha=a, n_w=n)``
    equals this with ``alpha = (n - ceil(n a) + 1) / n``. The dual variable is the threshold
    ``tau`` (the lower alpha-quantile of ``u``).

    Args:
        alpha: Level in ``(0, 1]``.
    """

    name = "cvar"
    radius_name = "alpha"
    dual_nonnegative = False

    def __init__(self, alpha: float) -> None:
        super().__init__(alpha)

    def _check_radius(self, radius: float) -> float:
        if not 0.0 < radius <= 1.0:  # also rejects NaN
            raise AmbiguitySetError(
                f"CVaR alpha must be in (0, 1] (the worst fraction of groups to average), got "
                f"{radius!r}; pass e.g. CVaR(0.2)"
            )
        return radius

    def _solve(self, u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
        alpha = self.radius
        weights = lower_tail(u, ref, alpha).taken / alpha
        weights = weights / weights.sum(-1, keepdim=True)
        tau = torch.where(weights > 0, u, -torch.inf).amax(-1)
        return weights, tau

    def _divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """The largest likelihood ratio ``max_k w_k / ref_k`` (over groups with mass; ``inf``
        when ``w`` has mass where ``ref`` has none): the set is ``divergence <= 1 / alpha``."""
        ratio = torch.where(w > 0, w / ref, 0.0)
        return ratio.amax(-1)

    def contains(self, w: Tensor, ref: Tensor, tol: float = 1e-9) -> Tensor:
        """Whether each ``w`` has ``w_k <= ref_k / alpha`` (its :meth:`divergence` is at most
        ``1 / alpha``, up to ``tol``)."""
        return self.divergence(w, ref) <= 1.0 / self.radius + tol

    def _dual(self, u: Tensor, ref: Tensor, dual: Tensor) -> Tensor:
        """Rockafellar-Uryasev objective ``tau - E_ref (tau - u)_+ / alpha``."""
        tau = dual.unsqueeze(-1)
        shortfall = (ref * (tau - u).clamp(min=0.0)).sum(-1, keepdim=True)
        return (tau - shortfall / self.radius).squeeze(-1)
