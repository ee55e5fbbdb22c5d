"""``droiz bench drbo``: DRBO's robust-regret experiment on the grid of :mod:`drbo_problem`.

As in DRBO (Kirschner et al. 2020) and Tay et al.'s re-implementation (docs/bench.md): the kernel
hyperparameters are known, the acquisition is maximised exactly over the 20 actions, and the
context of each evaluation is drawn from the true distribution after the action is chosen. Each
seed starts from 10 random grid points; ``T`` counts the steps after them. Every method of a seed
sees the same initial points, contexts and noise (common random numbers).

Methods: ``gp-ucb`` (stochastic: ``E_ref ucb``), ``dro-ucb`` (the exact worst case of ``ucb`` over
the ball, droiz's own solver) and ``wcs`` (the worst-case-sensitivity approximation, only for the
sets where it is defined). Constant ``beta = 2``. The robust regret of step ``t`` is
``max_x V_f(x) - V_f(x_t)`` with ``V_f`` the worst case of the true ``f`` over the same ball.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from droiz.ambiguity import AmbiguitySet
from droiz.bench.drbo_problem import (
    NOISE_VAR,
    SETS,
    DRBOProblem,
    ambiguity_set,
    has_wcs,
    make_problem,
    wcs_values,
)

METHODS = ("dro-ucb", "gp-ucb", "wcs")
N_INIT = 10
BETA = 2.0


class GridPosterior:
    """Exact GP posterior on a finite grid, updated one observation at a time.

    With ``L L^T = K_nn + s^2 I`` (the Cholesky factor of the observed points) it keeps
    ``V = L^-1 K_n*`` (``n x N``) and ``b = L^-1 y``, so that ``mean = V^T b`` and
    ``var = diag(K) - colsum(V^2)``. Observing grid point ``j`` appends one row to ``L``: its
    off-diagonal part is ``V[:, j]`` and its diagonal ``sqrt(var_j + s^2)``, so an update costs
    ``O(n N)`` and needs no solve.

    Args:
        prior: ``N x N`` prior covariance on the grid. noise_var: Observation noise variance.
        capacity: Expected number of observations (the storage grows beyond it).
    """

    def __init__(self, prior: Tensor, noise_var: float, capacity: int) -> None:
        self.prior, self.noise_var = prior, float(noise_var)
        self.rows = torch.zeros(max(1, capacity), len(prior), dtype=torch.float64)
        self.b = torch.zeros(max(1, capacity), dtype=torch.float64)
        self.n = 0
        self.mean = torch.zeros(len(prior), dtype=torch.float64)
        self.var = prior.diagonal().clone()

    def update(self, j: int, y: float) -> None:
        """Condition on ``y`` observed at grid point ``j``."""
        if self.n == len(self.rows):  # full: double the capacity
            self.rows = torch.cat([self.rows, torch.zeros_like(self.rows)])
            self.b = torch.cat([self.b, torch.zeros_like(self.b)])
        v, b = self.rows[: self.n], self.b[: self.n]
        col = v[:, j]
        d = torch.sqrt(self.var[j] + self.noise_var)
        row = (self.prior[j] - col @ v) / d
        self.rows[self.n], self.b[self.n] = row, (y - col @ b) / d
        self.mean += row * self.b[self.n]
        self.var -= row.square()
        self.n += 1

    def copy(self) -> GridPosterior:
        new = GridPosterior.__new__(GridPosterior)
        new.prior, new.noise_var, new.n = self.prior, self.noise_var, self.n
        new.rows, new.b = self.rows.clone(), self.b.clone()
        new.mean, new.var = self.mean.clone(), self.var.clone()
        return new


@dataclass
class MethodRun:
    """One method on one seed and set: robust regret per step and acquisition time per step."""

    regret: Tensor
    ask_seconds: float


def acquisition(
    method: str, ucb: Tensor, problem: DRBOProblem, name: str, amb: AmbiguitySet
) -> Tensor:
    """The score of every action (``A``) from the ``A x C`` upper confidence bounds."""
    if method == "gp-ucb":
        return ucb @ problem.ref
    if method == "dro-ucb":
        return amb.worst_case(ucb, problem.ref).value
    return wcs_values(name, ucb, problem.ref, amb.radius, problem.contexts)


def run_method(
    method: str,
    problem: DRBOProblem,
    name: str,
    amb: AmbiguitySet,
    start: GridPosterior,
    contexts: Tensor,
    noise: Tensor,
) -> MethodRun:
    """Run ``method`` for ``len(contexts)`` steps from the posterior ``start`` (not modified)."""
    truth = amb.worst_case(problem.f, problem.ref).value  # V_f per action
    best = truth.max()
    post = start.copy()
    n_ctx = problem.n_contexts
    regret = torch.empty(len(contexts), dtype=torch.float64)
    ask = 0.0
    for t, (c, e) in enumerate(zip(contexts.tolist(), noise.tolist(), strict=True)):
        tic = time.perf_counter()
        ucb = (post.mean + BETA * post.var.clamp_min(0.0).sqrt()).reshape(-1, n_ctx)
        a = int(torch.argmax(acquisition(method, ucb, problem, name, amb)))
        ask += time.perf_counter() - tic
        post.update(a * n_ctx + c, float(problem.f[a, c]) + e)
        regret[t] = best - truth[a]
    return MethodRun(regret, ask / max(1, len(contexts)))


def common_draws(seed: int, steps: int, problem: DRBOProblem) -> tuple[Tensor, ...]:
    """The common random numbers of one seed: the initial grid points and their noise, then the
    context and noise of every step (``init``, ``init_noise``, ``contexts``, ``noise``)."""
    gen = torch.Generator().manual_seed(10_000 + int(seed))
    n_points = problem.n_actions * problem.n_contexts
    init = torch.randint(n_points, (N_INIT,), generator=gen)
    init_noise = torch.randn(N_INIT, generator=gen, dtype=torch.float64) * NOISE_VAR**0.5
    contexts = torch.multinomial(problem.true, steps, replacement=True, generator=gen)
    noise = torch.randn(steps, generator=gen, dtype=torch.float64) * NOISE_VAR**0.5
    return init, init_noise, contexts, noise


def run_seed(seed: int, steps: int, sets: Sequence[str]) -> dict[str, dict[str, MethodRun | None]]:
    """Every set and method on one seed; ``None`` where WCS is not defined."""
    problem = make_problem(seed)
    init, init_noise, contexts, noise = common_draws(seed, steps, problem)
    start = GridPosterior(problem.prior, NOISE_VAR, N_INIT + steps)
    flat = problem.f.reshape(-1)
    for j, e in zip(init.tolist(), init_noise.tolist(), strict=True):
        start.update(j, float(flat[j]) + e)
    out: dict[str, dict[str, MethodRun | None]] = {}
    for name in sets:
        amb = ambiguity_set(name, problem)
        out[name] = {
            m: (
                run_method(m, problem, name, amb, start, contexts, noise)
                if m != "wcs" or has_wcs(name)
                else None
            )
            for m in METHODS
        }
    return out


def run_drbo(
    seeds: Sequence[int], steps: int = 200, sets: Sequence[str] = SETS
) -> dict[str, dict[str, list[MethodRun] | None]]:
    """Every seed; per set and method the runs in seed order (``None`` where WCS is n/a)."""
    per_seed = [run_seed(s, steps, sets) for s in seeds]
    return {
        name: {
            # a method's runs are None for every seed (WCS n/a) or for none
            m: None if per_seed[0][name][m] is None else [r[name][m] for r in per_seed]  # type: ignore[misc]
            for m in METHODS
        }
        for name in sets
    }


def summarize(runs: list[MethodRun]) -> dict[str, list[float] | float]:
    """Cumulative robust regret, mean and standard error over seeds per step; mean ask time."""
    cum = torch.stack([r.regret.cumsum(0) for r in runs])
    se = cum.std(0) / len(runs) ** 0.5 if len(runs) > 1 else torch.zeros(cum.shape[1])
    return {
        "cum_regret_mean": cum.mean(0).tolist(),
        "cum_regret_se": se.tolist(),
        "ask_seconds": sum(r.ask_seconds for r in runs) / len(runs),
    }


def to_json(
    results: dict[str, dict[str, list[MethodRun] | None]], steps: int, seeds: Sequence[int]
) -> dict[str, Any]:
    """The ``--json`` schema: ``T``, ``seeds`` and per set and method the summary (or null)."""
    return {
        "T": list(range(1, steps + 1)),
        "seeds": list(seeds),
        "sets": {
            name: {m: None if runs is None else summarize(runs) for m, runs in by_method.items()}
            for name, by_method in results.items()
        },
    }
