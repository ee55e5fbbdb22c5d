"""The offline demo: every method on the SIMULATED environment, equal budgets, several seeds.

One job is one :class:`Search` on one seed: a run of :class:`~droiz.optim.RobustBO` against
:class:`~droiz.sim.env.SimulatedPromptEnv`, reported as one row per final pick. The row
``ei-robust-select`` reuses the EI run but picks its final instruction by the robust posterior
value, so DRO's search has to earn its win. Every model-based method of a comparison uses the same
group rule (``group_rule``); the model-free ones sample the groups by the reference weights.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from droiz._workers import map_workers
from droiz.ambiguity import AmbiguitySet, parse_ambiguity
from droiz.axes import DEFAULT_GROUP_RULE
from droiz.optim import EngineConfig, RobustBO
from droiz.sim.env import LABEL, SimulatedPromptEnv
from droiz.validate import MAX_WORKERS, check_count

SEARCH_METHODS = ("dro", "ei", "ucb", "random", "dro-nobo")
ROWS = ("dro", "ei", "ei-robust-select", "ucb", "random", "dro-nobo")
ROW_TITLES = {
    "dro": "DRO-InstructZero (robust UCB)",
    "ei": "InstructZero-EI",
    "ucb": "InstructZero-UCB",
    "random": "random search",
    "dro-nobo": "DRO without BO",
    "ei-robust-select": "EI + robust final selection",
    "hybrid": "hybrid (robust -> nominal UCB)",
    "ucb-sum": "UCB, summed per-group bonus",
}


@dataclass
class RunResult:
    """One row on one seed: test accuracies of the final pick, the best-so-far curve, and the
    worst-group test accuracy of the row's pick after every ``tell`` (``checkpoints``: pairs of
    evaluations so far and that accuracy)."""

    method: str
    seed: int
    mean_acc: float
    worst_group_acc: float
    shifted_acc: float
    evaluations: int
    curve: list[float] = field(default_factory=list)
    instruction: int = -1
    checkpoints: list[tuple[int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Search:
    """One engine run per seed and the rows it reports.

    Attributes:
        method: A registered method. options: Further engine settings (``group_selection``,
            ``reference_update``, ``final_pick``). picks: Row name and final-pick criterion
            (``None``: the run's own) of each row it yields.
    """

    method: str
    options: tuple[tuple[str, Any], ...]
    picks: tuple[tuple[str, str | None], ...]

    def axes(self) -> dict[str, dict[str, str]]:
        """The four axes of each of its rows (:mod:`droiz.axes`)."""
        out = {}
        for row, selection in self.picks:
            options = dict(self.options)
            if selection is not None:
                options["final_pick"] = selection
            out[row] = EngineConfig(method=self.method, **options).axes()
        return out


def method_searches(methods: Sequence[str], group_rule: str = DEFAULT_GROUP_RULE) -> list[Search]:
    """One search per method with the group rule ``group_rule``; ``ei`` also yields
    ``ei-robust-select``."""
    searches = []
    for m in methods:
        picks: tuple[tuple[str, str | None], ...] = ((m, None),)
        if m == "ei":
            picks += (("ei-robust-select", "robust"),)
        searches.append(Search(m, (("group_selection", group_rule),), picks))
    return searches


def true_robust_values(env: SimulatedPromptEnv, ids: Sequence[int], amb: AmbiguitySet) -> Tensor:
    """The simulated ground-truth robust value (worst case of the true success probabilities)."""
    prob = torch.from_numpy(env.prob[list(ids)])
    ref = torch.full((env.n_groups,), 1.0 / env.n_groups, dtype=torch.float64)
    return amb.worst_case(prob, ref).value


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


def run_search(
    spec: Search, seed: int, scenario: str, budget: int, ambiguity: str
) -> list[RunResult]:
    """Run ``spec`` on one seed: one :class:`RunResult` per row, with its checkpoints (the
    fit a checkpoint needs is the one the next ``ask`` uses, so they cost no extra fit)."""
    env, amb, bo = make_search(spec.method, seed, scenario, budget, ambiguity, **dict(spec.options))
    checkpoints: dict[str, list[tuple[int, float]]] = {row: [] for row, _ in spec.picks}

    def on_tell(ids: list[int]) -> None:
        for row, selection in spec.picks:
            pick = ids[bo.best(selection=selection).index]
            checkpoints[row].append((len(ids), env.report(pick).worst_group))

    ids = search(bo, env, on_tell)
    curve = torch.cummax(true_robust_values(env, ids, amb), 0).values.tolist()
    out = []
    for row, selection in spec.picks:
        pick = ids[bo.best(selection=selection).index]
        rep = env.report(pick)
        out.append(
            RunResult(
                row,
                seed,
                rep.mean,
                rep.worst_group,
                rep.shifted,
                len(ids),
                curve,
                pick,
                checkpoints[row],
            )
        )
    return out


def run_method(
    method: str,
    seed: int,
    scenario: str = "tradeoff",
    budget: int = 150,
    ambiguity: str = "kl:0.1",
    **options: Any,
) -> list[RunResult]:
    """Run one method on one seed with any engine ``options``; EI also yields the
    ``ei-robust-select`` row."""
    picks = method_searches([method])[0].picks
    spec = Search(method, tuple(options.items()), picks)
    return run_search(spec, seed, scenario, budget, ambiguity)


def _job(args: tuple[Search, int, str, int, str]) -> list[RunResult]:
    return run_search(*args)


def run_searches(
    searches: Sequence[Search],
    seeds: Sequence[int],
    scenario: str,
    budget: int,
    ambiguity: str | AmbiguitySet,
    workers: int | None = None,
    progress: Callable[[RunResult], None] | None = None,
) -> dict[str, list[RunResult]]:
    """Every search on every seed (in ``workers`` processes); results by row, in seed order."""
    spec = ambiguity.to_spec() if isinstance(ambiguity, AmbiguitySet) else ambiguity
    jobs = [(s, seed, scenario, budget, spec) for seed in seeds for s in searches]
    jobs.sort(key=lambda j: j[0].method in ("random", "dro-nobo"))  # slow GP jobs first
    check_count("workers", workers or 1, 1, MAX_WORKERS)
    workers = min(workers or min(2, os.cpu_count() or 1), len(jobs))  # never more than runs
    rows: dict[str, list[RunResult]] = {row: [] for s in searches for row, _ in s.picks}

    def collect(results: list[RunResult]) -> None:
        for r in results:
            rows[r.method].append(r)
            if progress is not None:
                progress(r)

    if workers > 1:
        for results in map_workers(_job, jobs, workers, _init_worker):
            collect(results)
    else:
        for job in jobs:
            collect(_job(job))
    for results in rows.values():
        results.sort(key=lambda r: r.seed)
    return rows


def run_demo(
    seeds: Sequence[int],
    scenario: str = "tradeoff",
    budget: int = 150,
    ambiguity: str | AmbiguitySet = "kl:0.1",
    workers: int | None = None,
    progress: Callable[[RunResult], None] | None = None,
    group_rule: str = DEFAULT_GROUP_RULE,
) -> dict[str, list[RunResult]]:
    """The demo's methods on every seed, the model-based ones with ``group_rule``."""
    searches = method_searches(SEARCH_METHODS, group_rule)
    return run_searches(searches, seeds, scenario, budget, ambiguity, workers, progress)


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def searches_axes(searches: Sequence[Search]) -> dict[str, dict[str, str]]:
    """The axes of every row of ``searches``."""
    return {row: axes for s in searches for row, axes in s.axes().items()}


def to_json(
    rows: Mapping[str, Sequence[RunResult]],
    budget: int,
    seeds: Sequence[int],
    axes: Mapping[str, Mapping[str, str]],
    extra: Mapping[str, Mapping[str, list[float]]] | None = None,
) -> dict[str, Any]:
    """The demo's ``--json`` schema (exactly: budget, seeds, and per method its lists per seed
    and its four axes); ``extra`` adds further lists per method (``{metric: {method: list}}``)
    before the axes."""
    extra = extra or {}
    methods = {
        name: {
            "mean_acc": [r.mean_acc for r in res],
            "worst_group_acc": [r.worst_group_acc for r in res],
            "shifted_acc": [r.shifted_acc for r in res],
            "evaluations": [r.evaluations for r in res],
            **{metric: values[name] for metric, values in extra.items()},
            **axes[name],
        }
        for name, res in rows.items()
    }
    return {"budget": budget, "seeds": list(seeds), "methods": methods}


__all__ = [
    "LABEL",
    "ROWS",
    "ROW_TITLES",
    "RunResult",
    "Search",
    "method_searches",
    "run_demo",
    "run_method",
    "run_search",
    "run_searches",
    "to_json",
]
