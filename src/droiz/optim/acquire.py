"""One BO round's search: maximise the method's acquisition with CMA-ES, pick distinct points.

:func:`propose` is the model-based step of a round (what ``RobustBO.ask`` does once the surrogate
is fitted): the method's acquisition, CMA-ES from the best evaluated points by its final-pick
criterion, and the groups by its group rule. It sees the fitted model and the frozen round
context, never the engine.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from torch import Tensor

from droiz.acquisition import adversary_weights
from droiz.optim.candidates import maximise_discrete
from droiz.optim.cmaes import CMAOptions, maximize_cmaes
from droiz.optim.config import EngineConfig
from droiz.optim.context import RoundContext
from droiz.optim.methods import Method
from droiz.optim.reference import GROUP_RULES, sampled_groups
from droiz.optim.selection import SELECTIONS
from droiz.surrogate.model import GroupGP

_DISTINCT = 1e-6  # two soft prompts closer than this (max-norm) count as the same point


class Step(NamedTuple):
    """What a BO round proposes.

    Attributes:
        z: ``n x d`` candidates. weights: The adversary's weights at them (``n x K``, from
            acquisitions that report them, :class:`~droiz.acquisition.AdversaryWeights`; else
            ``None``). groups: ``n x K`` bool, the groups to evaluate.
        scores: The final-pick scores of the evaluated points ``ctx.z`` (the searches start from
            the best of them).
    """

    z: Tensor
    weights: Tensor | None
    groups: Tensor
    scores: Tensor


def propose(spec: Method, model: GroupGP, ctx: RoundContext, cfg: EngineConfig, n: int) -> Step:
    """The model-based step of a round: ``n`` candidates of the method ``spec`` and their groups.

    CMA-ES (``cfg.cma_*``) starts from the ``cfg.cma_starts`` best evaluated points by the
    method's final-pick criterion; the groups follow ``cfg.group_rule()``.
    """
    if spec.acquisition is None:
        raise ValueError(f"method {spec.name!r} is model-free: it has no acquisition to maximise")
    acq = spec.acquisition(model, ctx)
    scores = SELECTIONS.get(spec.final_pick).score(model, ctx)
    k = min(cfg.cma_starts, len(scores))
    starts = ctx.z[torch.argsort(scores, descending=True, stable=True)[:k]]
    opts = CMAOptions(cfg.cma_popsize, cfg.cma_sigma0, cfg.cma_generations)
    z, weights = search(ctx, acq, starts, n, opts)
    rule = GROUP_RULES.get(cfg.group_rule())
    groups = rule.fn(model if rule.needs_model else None, ctx, z)
    return Step(z, weights, groups, scores)


def propose_candidates(
    spec: Method,
    model: GroupGP,
    ctx: RoundContext,
    cfg: EngineConfig,
    n: int,
    candidates: Tensor,
    free: Tensor,
) -> Step:
    """The model-based step of a candidate search: the ``n`` candidates (``N x d`` scaled
    features) with free groups (``free``: ``N x K``) that maximise the acquisition, exactly
    (:func:`~droiz.optim.candidates.maximise_discrete`), on free groups chosen by the rule."""
    if spec.acquisition is None:
        raise ValueError(f"method {spec.name!r} is model-free: it has no acquisition to maximise")
    acq = spec.acquisition(model, ctx)
    scores = SELECTIONS.get(spec.final_pick).score(model, ctx)
    allowed = free.any(-1).nonzero().flatten()
    index = allowed[maximise_discrete(acq, candidates[allowed], n)]
    z = candidates[index]
    rule = GROUP_RULES.get(cfg.group_rule())
    groups = rule.fn(model if rule.needs_model else None, ctx, z) & free[index]
    return Step(z, adversary_weights(acq, z), fill_groups(groups, free[index], ctx), scores)


def fill_groups(groups: Tensor, free: Tensor, ctx: RoundContext) -> Tensor:
    """``groups`` (``n x K``), where a row has none: free groups (``free``) drawn by the
    reference weights (a group rule of one's own that chose only observed groups)."""
    empty = ~groups.any(-1)
    if not empty.any():
        return groups
    out = groups.clone()
    k, per = int(empty.sum()), ctx.groups_per_round
    out[empty] = sampled_groups(k, ctx.reference, per, ctx.seed_for(4), free[empty])
    return out


def search(
    ctx: RoundContext, acq: AcquisitionFunction, starts: Tensor, n: int, options: CMAOptions
) -> tuple[Tensor, Tensor | None]:
    """Run CMA-ES from ``starts`` and pick ``n`` distinct, not yet evaluated candidates.

    Returns:
        ``(z, weights)``: ``n x d`` candidates (each search's best first, then the best of all
        evaluated points) and, for acquisitions that report them
        (:class:`~droiz.acquisition.AdversaryWeights`), the adversary's weights at them
        (``n x K``, else ``None``).
    """
    seeds = [ctx.seed_for(2, i) for i in range(len(starts))]
    result = maximize_cmaes(lambda x: acq(x.unsqueeze(-2)), starts, seeds, options)
    order_best = torch.argsort(result.best_values, descending=True, stable=True)
    order_all = torch.argsort(result.values, descending=True, stable=True)
    pool = torch.cat([result.best_points[order_best], result.points[order_all]])
    z = pick_distinct(pool, ctx.z, n)
    if len(z) < n:  # the searches collapsed: fill with fresh uniform points (seeded)
        gen = torch.Generator().manual_seed(ctx.seed_for(3))
        dim = ctx.z.shape[-1]
        extra = torch.rand(n - len(z), dim, generator=gen, dtype=torch.float64) * 2 - 1
        z = torch.cat([z, extra])
    return z, adversary_weights(acq, z)


def pick_distinct(pool: Tensor, taken: Tensor, n: int) -> Tensor:
    """The first ``n`` rows of ``pool`` (in order) that differ from ``taken`` and each other."""
    chosen: list[Tensor] = []
    taken = taken.clone()
    for row in pool:
        if len(taken) and (taken - row).abs().amax(-1).min() <= _DISTINCT:
            continue
        chosen.append(row)
        taken = torch.cat([taken, row.unsqueeze(0)])
        if len(chosen) == n:
            return torch.stack(chosen)
    return torch.stack(chosen) if chosen else pool[:0]
