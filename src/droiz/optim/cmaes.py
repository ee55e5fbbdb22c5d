"""Maximise an acquisition function with CMA-ES (pycma), many seeded searches run in lockstep.

InstructZero runs one CMA-ES search per start (popsize 50, sigma0 0.8, bounds [-1, 1], at most 10
generations); droiz runs 5 such searches a round by default (``EngineConfig.cma_starts``: pycma's
Python costs about 1 ms per search and generation plus ~20 us per candidate, so 25 searches cost
half a second a round; ``docs/engine.md``, "Round time").

Here all searches advance together, so every generation costs one batched
acquisition call of ``starts x popsize`` candidates instead of ``starts`` small ones. Each search
draws its mutations from its own seeded generator; pycma's global-RNG use is isolated, so results do
not depend on (and do not disturb) ``numpy.random``.

The box ``[-1, 1]^d`` is handled as pycma's ``BoundTransform`` does (its linear-quadratic
transformation ``BoxConstraintsLinQuadTransformation`` from genotype to phenotype), but applied to
all populations of a generation in one vectorised call instead of once per candidate inside
``ask``; the searches see exactly the same phenotypes and fitness values.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cma
import numpy as np
import torch
from cma.evolution_strategy import get_CMASolutionDict
from cma.transformations import BoxConstraintsLinQuadTransformation
from torch import Tensor


@dataclass(frozen=True)
class CMAOptions:
    """Settings of the inner CMA-ES searches (InstructZero's defaults)."""

    popsize: int = 50
    sigma0: float = 0.8
    max_generations: int = 10


@dataclass(frozen=True)
class SearchResult:
    """All points the searches evaluated, and each search's best point.

    Attributes:
        points: ``N x d`` every evaluated candidate. values: ``N`` their acquisition values.
        best_points: ``m x d`` the best point of each of the ``m`` searches.
        best_values: ``m`` their values.
    """

    points: Tensor
    values: Tensor
    best_points: Tensor
    best_values: Tensor


@contextlib.contextmanager
def _isolated_numpy_rng(seed: int) -> Iterator[None]:
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


@functools.cache
def _box(length: int) -> BoxConstraintsLinQuadTransformation:
    # one [-1, 1] pair, recycled for every coordinate; set up (slowly, in Python) once per length
    box = BoxConstraintsLinQuadTransformation([[-1.0, 1.0]])
    box.initialize(length)
    return box


def to_box(genotypes: np.ndarray) -> np.ndarray:
    """pycma's bound transformation into ``[-1, 1]``, applied elementwise to any array."""
    flat = np.ascontiguousarray(genotypes, dtype=np.float64).reshape(-1)
    return np.asarray(_box(len(flat))(flat)).reshape(genotypes.shape)


def _make_search(x0: np.ndarray, seed: int, opts: CMAOptions) -> cma.CMAEvolutionStrategy:
    rng = np.random.default_rng(seed)
    options = {
        "popsize": opts.popsize,
        "randn": lambda *shape: rng.standard_normal(shape),
        "seed": float("nan"),  # mutations come from ``randn``, not from numpy's global RNG
        "verbose": -9,
        "verb_log": 0,
        "verb_disp": 0,
        "maxiter": opts.max_generations,
        "maxstd": 2.0 / 3.0,  # what pycma derives from bounds [-1, 1] (maxstd_boundrange 1/3)
    }
    start = _box(len(x0)).inverse(x0.tolist())  # the genotype of x0, as pycma computes it
    es = cma.CMAEvolutionStrategy(start, opts.sigma0, options)
    # genotype == phenotype here (the box is handled outside), so the archive pycma keeps to map
    # phenotypes back to genotypes is pure overhead (hashing every candidate); the template
    # "empty" dict pycma offers for this (``archive_sent_solutions = False``) skips it
    es.sent_solutions = get_CMASolutionDict(False)()
    return es


def maximize_cmaes(
    acquisition: Callable[[Tensor], Tensor],
    starts: Tensor,
    seeds: list[int],
    options: CMAOptions = CMAOptions(),
) -> SearchResult:
    """Run one CMA-ES search from each start and return everything they evaluated.

    Args:
        acquisition: Maps ``b x d`` candidates to ``b`` values (higher is better); called once
            per generation with all searches' populations.
        starts: ``m x d`` starting points in ``[-1, 1]^d``.
        seeds: ``m`` seeds, one per search.
        options: Population size, initial step size and number of generations.
    """
    if len(seeds) != len(starts):
        raise ValueError(f"expected {len(starts)} seeds, got {len(seeds)}")
    with _isolated_numpy_rng(seeds[0] if seeds else 0):
        searches = [_make_search(x.numpy(), s, options) for x, s in zip(starts, seeds, strict=True)]
        points, values = _run(acquisition, searches, options.max_generations)
    best_idx = [int(np.argmax(v)) for v in values]
    best_points = torch.stack([p[i] for p, i in zip(points, best_idx, strict=True)])
    best_values = torch.stack([v[i] for v, i in zip(values, best_idx, strict=True)])
    return SearchResult(torch.cat(points), torch.cat(values), best_points, best_values)


def _run(
    acquisition: Callable[[Tensor], Tensor],
    searches: list[cma.CMAEvolutionStrategy],
    generations: int,
) -> tuple[list[Tensor], list[Tensor]]:
    points: list[list[Tensor]] = [[] for _ in searches]
    values: list[list[Tensor]] = [[] for _ in searches]
    for _ in range(generations):
        active = [i for i, es in enumerate(searches) if not es.stop()]
        if not active:
            break
        pops = [np.asarray(searches[i].ask()) for i in active]  # genotypes
        x = torch.from_numpy(to_box(np.concatenate(pops))).clamp(-1.0, 1.0)
        with torch.no_grad():
            vals = acquisition(x).reshape(-1).to(torch.float64)
        vals = torch.nan_to_num(vals, nan=-torch.inf)
        for j, i in enumerate(active):
            sl = slice(j * len(pops[0]), (j + 1) * len(pops[0]))
            finite = torch.where(torch.isfinite(vals[sl]), -vals[sl], torch.tensor(1e300))
            searches[i].tell(pops[j], finite.tolist(), check_points=False)  # known genotypes
            points[i].append(x[sl])
            values[i].append(vals[sl])
    return [torch.cat(p) for p in points], [torch.cat(v) for v in values]
