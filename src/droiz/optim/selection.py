"""Final-pick criteria: how each method ranks the soft prompts it has evaluated.

* ``robust``: the worst case, over the ambiguity set, of the GP posterior mean of every group
  (``dro``, ``hybrid``, and ``ei-robust-select``);
* ``nominal``: the posterior mean of the reference mixture (``ei``, ``ucb``);
* ``observed-nominal``: the reference mixture of the observed group means, renormalised over the
  groups that point was evaluated on (``random``);
* ``observed-robust``: the worst case over the ambiguity set restricted to the observed groups,
  with the reference renormalised on them (``dro-nobo``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from droiz.ambiguity import AmbiguitySet, WassersteinBall
from droiz.surrogate.model import GroupGP


def posterior_scores(
    selection: str, gp: GroupGP, z: Tensor, ambiguity: AmbiguitySet, reference: Tensor
) -> Tensor:
    """``robust`` or ``nominal`` score of each of the ``n x d`` points ``z`` (``n``)."""
    with torch.no_grad():
        mean, _ = gp.predict(z)
    if selection == "robust":
        return ambiguity.worst_case(mean, reference).value
    return mean @ reference


def observed_scores(
    selection: str, y: Tensor, mask: Tensor, ambiguity: AmbiguitySet, reference: Tensor
) -> Tensor:
    """``observed-nominal`` or ``observed-robust`` score of each observed row (``n``).

    Args:
        y: ``n x K`` observed means. mask: ``n x K`` observed groups.
    """
    if selection == "observed-nominal":
        w = torch.where(mask, reference, 0.0)
        return torch.where(mask, y, 0.0).mul(w).sum(-1) / w.sum(-1)
    out = torch.empty(len(y), dtype=torch.float64)
    for pattern in torch.unique(mask, dim=0):  # one solve per distinct set of observed groups
        rows = (mask == pattern).all(-1)
        idx = pattern.nonzero().squeeze(-1)
        ref = reference[idx] / reference[idx].sum()
        out[rows] = restrict(ambiguity, idx).worst_case(y[rows][:, idx], ref).value
    return out


def restrict(ambiguity: AmbiguitySet, idx: Tensor) -> AmbiguitySet:
    """The same ambiguity set on the sub-support ``idx`` (only a W1 cost matrix changes)."""
    if isinstance(ambiguity, WassersteinBall) and isinstance(ambiguity.cost, Tensor):
        return WassersteinBall(ambiguity.radius, ambiguity.cost[idx][:, idx])
    return ambiguity
