"""Final-pick criteria: how a method ranks the soft prompts it has evaluated.

Registered by name in :data:`SELECTIONS` (add one with :func:`register_selection`):

* ``robust``: the worst case, over the ambiguity set, of the GP posterior mean of every group
  (``dro``, ``hybrid``, and ``ei-robust-select``);
* ``nominal``: the posterior mean of the reference mixture (``ei``, ``ucb``);
* ``observed-nominal``: the reference mixture of the observed group means, renormalised over the
  groups that point was evaluated on (``random``);
* ``observed-robust``: the worst case over the ambiguity set restricted to the observed groups,
  with the reference renormalised on them (``dro-nobo``).

A criterion is a function ``score(model, ctx) -> n`` scores of the evaluated points ``ctx.z``
(higher is better); ``model`` is the fitted surrogate, or ``None`` when ``needs_model`` is false.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from droiz.ambiguity import AmbiguitySet, WassersteinBall
from droiz.optim.context import RoundContext
from droiz.registry import Registry
from droiz.surrogate.model import GroupGP


class Best(NamedTuple):
    """The final pick among the evaluated soft prompts.

    Attributes:
        index: Row of the pick in the order of ``tell`` (a completed round's rows in the order of
            its proposal). z: ``d`` the soft prompt.
        value: Its score under ``selection``. selection: The criterion used.
        scores: ``n`` the score of every evaluated point under ``selection``.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index; the field name is public API
    z: Tensor
    value: float
    selection: str
    scores: Tensor


ScoreFn = Callable[[GroupGP | None, RoundContext], Tensor]


@dataclass(frozen=True)
class Selection:
    """A registered final-pick criterion.

    Attributes:
        name: Its name. score: ``score(model, ctx) -> n`` (see the module docstring).
        needs_model: Whether ``score`` reads the fitted surrogate.
        robust: Whether it is a worst case over the ambiguity set (the runner's verified final
            pick then compares finalists by their robust value, and ``reference_update="auto"``
            makes the reference follow the weak groups).
    """

    name: str
    score: ScoreFn
    needs_model: bool
    robust: bool


SELECTIONS: Registry[Selection] = Registry("selection")
"""Final-pick criteria by name."""


def register_selection(
    name: str, *, needs_model: bool, robust: bool
) -> Callable[[ScoreFn], ScoreFn]:
    """Decorator registering ``score(model, ctx)`` as the criterion ``name``."""

    def deco(fn: ScoreFn) -> ScoreFn:
        SELECTIONS.add(name, Selection(name, fn, needs_model, robust))
        return fn

    return deco


@register_selection("robust", needs_model=True, robust=True)
def _robust(model: GroupGP | None, ctx: RoundContext) -> Tensor:
    assert model is not None  # needs_model
    return posterior_scores("robust", model, ctx.z, ctx.ambiguity, ctx.reference)


@register_selection("nominal", needs_model=True, robust=False)
def _nominal(model: GroupGP | None, ctx: RoundContext) -> Tensor:
    assert model is not None  # needs_model
    return posterior_scores("nominal", model, ctx.z, ctx.ambiguity, ctx.reference)


@register_selection("observed-nominal", needs_model=False, robust=False)
def _observed_nominal(model: GroupGP | None, ctx: RoundContext) -> Tensor:
    y, mask = merge_same_points(ctx.z, ctx.y, ctx.mask)
    return observed_scores("observed-nominal", y, mask, ctx.ambiguity, ctx.reference)


@register_selection("observed-robust", needs_model=False, robust=True)
def _observed_robust(model: GroupGP | None, ctx: RoundContext) -> Tensor:
    y, mask = merge_same_points(ctx.z, ctx.y, ctx.mask)
    return observed_scores("observed-robust", y, mask, ctx.ambiguity, ctx.reference)


def merge_same_points(z: Tensor, y: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Each row's observations joined with those of every row at the same point (a candidate
    search evaluates a candidate again on its other groups): ``y`` and ``mask`` (``n x K``),
    the mean where a group was observed more than once."""
    _, inverse = torch.unique(z, dim=0, return_inverse=True)
    if len(inverse) == len(torch.unique(inverse)):  # every point once: nothing to join
        return y, mask
    m = int(inverse.max()) + 1
    counts = torch.zeros(m, y.shape[-1], dtype=torch.float64)
    sums = torch.zeros_like(counts)
    counts.index_add_(0, inverse, mask.to(torch.float64))
    sums.index_add_(0, inverse, torch.where(mask, y, 0.0))
    joined = counts[inverse] > 0
    return torch.where(joined, sums[inverse] / counts[inverse].clamp_min(1.0), 0.0), joined


def posterior_scores(
    selection: str, model: GroupGP, z: Tensor, ambiguity: AmbiguitySet, reference: Tensor
) -> Tensor:
    """``robust`` or ``nominal`` score of each of the ``n x d`` points ``z`` (``n``)."""
    with torch.no_grad():
        mean, _ = model.predict(z)
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
