"""One BO round's search: maximise the method's acquisition with CMA-ES, pick distinct points."""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction
from torch import Tensor

from droiz.acquisition import HybridAcquisition, RobustUCB
from droiz.optim.cmaes import CMAOptions, maximize_cmaes
from droiz.optim.context import RoundContext

_DISTINCT = 1e-6  # two soft prompts closer than this (max-norm) count as the same point


def search(
    ctx: RoundContext, acq: AcquisitionFunction, starts: Tensor, n: int, options: CMAOptions
) -> tuple[Tensor, Tensor | None]:
    """Run CMA-ES from ``starts`` and pick ``n`` distinct, not yet evaluated candidates.

    Returns:
        ``(z, weights)``: ``n x d`` candidates (each search's best first, then the best of all
        evaluated points) and, for robust acquisitions, the adversary's weights at them
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
    return z, _adversary_weights(acq, z)


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


def _adversary_weights(acq: AcquisitionFunction, z: Tensor) -> Tensor | None:
    robust = acq.robust if isinstance(acq, HybridAcquisition) else acq
    if not isinstance(robust, RobustUCB):
        return None
    with torch.no_grad():
        robust(z.unsqueeze(-2))
    return robust.last_weights
