"""One BO round of the engine: build the method's acquisition and search it with CMA-ES."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from botorch.acquisition import AcquisitionFunction
from torch import Tensor

from droiz.acquisition import (
    HybridAcquisition,
    RobustUCB,
    beta_schedule,
    hybrid_weight,
    mixture_ei,
    mixture_ucb,
)
from droiz.optim.cmaes import CMAOptions, maximize_cmaes
from droiz.optim.selection import posterior_scores
from droiz.surrogate.model import GroupGP

if TYPE_CHECKING:
    from droiz.optim.engine import RobustBO

_DISTINCT = 1e-6  # two soft prompts closer than this (max-norm) count as the same point


def build(engine: RobustBO, gp: GroupGP) -> AcquisitionFunction:
    """The acquisition of ``engine.method`` for the current round."""
    beta = beta_schedule(engine.round)
    ref, amb, method = engine.reference, engine.ambiguity, engine.method
    if method == "ei":
        best_f = float(posterior_scores("nominal", gp, engine.obs.z, amb, ref).max())
        return mixture_ei(gp, best_f, ref)
    if method == "ucb":
        return mixture_ucb(gp, beta, ref)
    robust = RobustUCB(gp, beta, amb, ref)
    if method == "hybrid":
        cfg = engine.config
        lam = hybrid_weight(engine.n_evaluations / cfg.budget, cfg.hybrid_start, cfg.hybrid_end)
        return HybridAcquisition(robust, mixture_ucb(gp, beta, ref), lam)
    return robust


def search(
    engine: RobustBO, acq: AcquisitionFunction, starts: Tensor, n: int
) -> tuple[Tensor, Tensor | None]:
    """Run CMA-ES from ``starts`` and pick ``n`` distinct, not yet evaluated candidates.

    Returns:
        ``(z, weights)``: ``n x d`` candidates (each search's best first, then the best of all
        evaluated points) and, for robust acquisitions, the adversary's weights at them
        (``n x K``, else ``None``).
    """
    from droiz.optim.engine import derive_seed

    cfg = engine.config
    seeds = [derive_seed(cfg.seed, engine.round, 2, i) for i in range(len(starts))]
    opts = CMAOptions(cfg.cma_popsize, cfg.cma_sigma0, cfg.cma_generations)
    result = maximize_cmaes(lambda x: acq(x.unsqueeze(-2)), starts, seeds, opts)
    order_best = torch.argsort(result.best_values, descending=True, stable=True)
    order_all = torch.argsort(result.values, descending=True, stable=True)
    pool = torch.cat([result.best_points[order_best], result.points[order_all]])
    z = pick_distinct(pool, engine.obs.z, n)
    if len(z) < n:  # the searches collapsed: fill with fresh uniform points (seeded)
        gen = torch.Generator().manual_seed(derive_seed(cfg.seed, engine.round, 3))
        extra = torch.rand(n - len(z), cfg.dim, generator=gen, dtype=torch.float64) * 2 - 1
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
