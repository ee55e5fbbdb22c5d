"""The offline demo: every method on the SIMULATED environment, equal budgets, several seeds.

One job is one (method, seed) run of :class:`~droiz.optim.RobustBO` against
:class:`~droiz.sim.env.SimulatedPromptEnv`. The row ``ei-robust-select`` reuses the EI run but
picks its final instruction by the robust posterior value, so DRO's search has to earn its win.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from droiz.ambiguity import AmbiguitySet, parse_ambiguity
from droiz.optim import RobustBO
from droiz.sim.env import LABEL, SimulatedPromptEnv

SEARCH_METHODS = ("dro", "ei", "ucb", "random", "dro-nobo")
ROWS = ("dro", "ei", "ucb", "random", "dro-nobo", "ei-robust-select")
ROW_TITLES = {
    "dro": "DRO-InstructZero (robust UCB)",
    "ei": "InstructZero-EI",
    "ucb": "InstructZero-UCB",
    "random": "random search",
    "dro-nobo": "DRO without BO",
    "ei-robust-select": "EI + robust final selection",
    "hybrid": "hybrid (robust -> nominal UCB)",
    "dro-r0": "robust UCB, radius 0",
}


@dataclass
class RunResult:
    """One method on one seed: test accuracies of the final pick and the best-so-far curve."""

    method: str
    seed: int
    mean_acc: float
    worst_group_acc: float
    shifted_acc: float
    evaluations: int
    curve: list[float] = field(default_factory=list)
    instruction: int = -1


def true_robust_values(env: SimulatedPromptEnv, ids: Sequence[int], amb: AmbiguitySet) -> Tensor:
    """The simulated ground-truth robust value (worst case of the true success probabilities)."""
    prob = torch.from_numpy(env.prob[list(ids)])
    ref = torch.full((env.n_groups,), 1.0 / env.n_groups, dtype=torch.float64)
    return amb.worst_case(prob, ref).value


def run_method(
    method: str,
    seed: int,
    scenario: str = "tradeoff",
    budget: int = 150,
    ambiguity: str = "kl:0.1",
    **options: Any,
) -> list[RunResult]:
    """Run one search method on one seed; EI also yields the ``ei-robust-select`` row."""
    env, amb, bo = make_search(method, seed, scenario, budget, ambiguity, **options)
    ids = search(bo, env)
    curve = torch.cummax(true_robust_values(env, ids, amb), 0).values.tolist()
    rows = [_result(method, seed, env, ids[bo.best().index], len(ids), curve)]
    if method == "ei":
        pick = ids[bo.best(selection="robust").index]
        rows.append(_result("ei-robust-select", seed, env, pick, len(ids), curve))
    return rows


def make_search(
    method: str,
    seed: int,
    scenario: str,
    budget: int,
    ambiguity: str,
    search_ambiguity: AmbiguitySet | None = None,
    **options: Any,
) -> tuple[SimulatedPromptEnv, AmbiguitySet, RobustBO]:
    """The environment of ``seed``, the parsed ``ambiguity`` (what the picks are scored under)
    and the engine, which searches under ``search_ambiguity`` if given, else ``ambiguity``."""
    torch.set_num_threads(1)
    env = SimulatedPromptEnv(scenario, seed=seed)
    amb = parse_ambiguity(ambiguity)
    bo = RobustBO(
        dim=env.dim,
        n_groups=env.n_groups,
        method=method,
        ambiguity=amb if search_ambiguity is None else search_ambiguity,
        budget=budget,
        seed=seed,
        **options,
    )
    return env, amb, bo


def search(
    bo: RobustBO, env: SimulatedPromptEnv, on_tell: Callable[[list[int]], None] | None = None
) -> list[int]:
    """Run ``bo`` to its budget on ``env``; the instruction id of every evaluation, in order.

    ``on_tell(ids)``, if given, is called after every ``tell`` with the ids evaluated so far.
    """
    ids: list[int] = []
    while not bo.stop():
        proposal = bo.ask()
        ev = env.evaluate(proposal.z, proposal.groups)
        bo.tell(proposal, ev.y, scores=ev.scores)
        ids += ev.instructions
        if on_tell is not None:
            on_tell(ids)
    return ids


def _result(
    name: str, seed: int, env: SimulatedPromptEnv, pick: int, evals: int, curve: list[float]
) -> RunResult:
    rep = env.report(pick)
    return RunResult(name, seed, rep.mean, rep.worst_group, rep.shifted, evals, curve, pick)


def _job(args: tuple[str, int, str, int, str, dict[str, Any]]) -> list[RunResult]:
    method, seed, scenario, budget, ambiguity, options = args
    return run_method(method, seed, scenario, budget, ambiguity, **options)


def run_demo(
    seeds: Sequence[int],
    scenario: str = "tradeoff",
    budget: int = 150,
    ambiguity: str | AmbiguitySet = "kl:0.1",
    workers: int | None = None,
    progress: Callable[[RunResult], None] | None = None,
    **options: Any,
) -> dict[str, list[RunResult]]:
    """Run every method on every seed (in ``workers`` processes) and group the results by row."""
    spec = ambiguity.to_spec() if isinstance(ambiguity, AmbiguitySet) else ambiguity
    jobs = [(m, s, scenario, budget, spec, options) for s in seeds for m in SEARCH_METHODS]
    jobs.sort(key=lambda j: j[0] in ("random", "dro-nobo"))  # slow GP jobs first
    workers = workers or min(2, os.cpu_count() or 1)
    rows: dict[str, list[RunResult]] = {r: [] for r in ROWS}
    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=_init_worker) as pool:
            for results in pool.map(_job, jobs):
                _collect(rows, results, progress)
    else:
        for job in jobs:
            _collect(rows, _job(job), progress)
    for results in rows.values():
        results.sort(key=lambda r: r.seed)
    return rows


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def _collect(
    rows: dict[str, list[RunResult]],
    results: list[RunResult],
    progress: Callable[[RunResult], None] | None,
) -> None:
    for r in results:
        rows[r.method].append(r)
        if progress is not None:
            progress(r)


def to_json(rows: dict[str, list[RunResult]], budget: int, seeds: Sequence[int]) -> dict[str, Any]:
    """The demo's ``--json`` schema (exactly: budget, seeds, and per-method lists per seed)."""
    methods = {
        name: {
            "mean_acc": [r.mean_acc for r in res],
            "worst_group_acc": [r.worst_group_acc for r in res],
            "shifted_acc": [r.shifted_acc for r in res],
            "evaluations": [r.evaluations for r in res],
        }
        for name, res in rows.items()
    }
    return {"budget": budget, "seeds": list(seeds), "methods": methods}


__all__ = ["LABEL", "ROWS", "ROW_TITLES", "RunResult", "run_demo", "run_method", "to_json"]
