"""``droiz bench sim``: the seed paper's ablation on the SIMULATED environment (no LLM).

Rows: ``dro`` (DRO-InstructZero), ``ei`` and ``ucb`` (InstructZero), ``random``, ``dro-nobo``
(DRO without BO), ``hybrid``, plus two that separate the ingredients:

* ``dro-r0``: the engine's ``dro`` method with :class:`~droiz.ambiguity.Nominal` ambiguity, i.e.
  robust UCB with radius 0, ``sum_t w_t (mu_t + beta sigma_t)`` with the (EMA) reference weights:
  DRO's per-group exploration bonus and everything else of ``dro``, but no worst case;
* ``ei-robust-select``: EI's search with DRO's final criterion (the same run as ``ei``).

Every method uses the same group rule (``reference``: groups sampled in proportion to the
reference weights; ``auto``: the engine's lowest-LCB rule for its ``dro`` and ``hybrid`` methods,
``dro-r0`` included). Each run records the worst-group test accuracy of its own pick after every
``tell`` (every 25 evaluations), which gives the sample efficiency: the evaluations a method needs
until its pick reaches EI's final worst-group accuracy on the same seed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch

from droiz.ambiguity import Nominal
from droiz.bench.paired import paired
from droiz.sim.demo import RunResult, make_search, search, to_json, true_robust_values

ROWS = ("dro", "ei", "ucb", "random", "dro-nobo", "hybrid", "dro-r0", "ei-robust-select")
SEARCHES = ("dro", "hybrid", "dro-r0", "ei", "ucb", "random", "dro-nobo")  # slow GP runs first
GROUP_RULES = ("reference", "auto")
PAIRS = {"dro-ei": "ei", "dro-ucb": "ucb", "dro-vs-r0": "dro-r0"}
_REACH = 1e-12  # accuracies are multiples of 1/300; reaching means >= up to rounding


@dataclass
class BenchRun(RunResult):
    """A demo result plus the worst-group test accuracy of the pick after every tell."""

    checkpoints: list[tuple[int, float]] = field(default_factory=list)


def run_search(
    row: str, seed: int, scenario: str, budget: int, ambiguity: str, group_rule: str
) -> list[BenchRun]:
    """One search on one seed; ``ei`` also yields ``ei-robust-select``."""
    method, search_amb = ("dro", Nominal()) if row == "dro-r0" else (row, None)
    env, amb, bo = make_search(
        method, seed, scenario, budget, ambiguity, search_amb, group_selection=group_rule
    )
    picks: dict[str, str | None] = {row: None}
    if row == "ei":
        picks["ei-robust-select"] = "robust"
    checkpoints: dict[str, list[tuple[int, float]]] = {name: [] for name in picks}

    def on_tell(ids: list[int]) -> None:
        for name, selection in picks.items():
            pick = ids[bo.best(selection=selection).index]
            checkpoints[name].append((len(ids), env.report(pick).worst_group))

    ids = search(bo, env, on_tell)
    curve = torch.cummax(true_robust_values(env, ids, amb), 0).values.tolist()
    out = []
    for name, selection in picks.items():
        pick = ids[bo.best(selection=selection).index]
        rep = env.report(pick)
        out.append(
            BenchRun(
                name,
                seed,
                rep.mean,
                rep.worst_group,
                rep.shifted,
                len(ids),
                curve,
                pick,
                checkpoints[name],
            )
        )
    return out


def _job(args: tuple[str, int, str, int, str, str]) -> list[BenchRun]:
    return run_search(*args)


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def run_ablation(
    seeds: Sequence[int],
    scenario: str = "tradeoff",
    budget: int = 150,
    ambiguity: str = "kl:1.0",
    group_rule: str = "reference",
    workers: int | None = None,
    progress: Callable[[BenchRun], None] | None = None,
) -> dict[str, list[BenchRun]]:
    """Every row on every seed, in ``workers`` processes; results grouped by row, seed order."""
    jobs = [(m, s, scenario, budget, ambiguity, group_rule) for m in SEARCHES for s in seeds]
    workers = workers or min(2, os.cpu_count() or 1)
    rows: dict[str, list[BenchRun]] = {r: [] for r in ROWS}

    def collect(results: list[BenchRun]) -> None:
        for r in results:
            rows[r.method].append(r)
            if progress is not None:
                progress(r)

    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=_init_worker) as pool:
            for results in pool.map(_job, jobs):
                collect(results)
    else:
        for job in jobs:
            collect(_job(job))
    for results in rows.values():
        results.sort(key=lambda r: r.seed)
    return rows


def efficiency(rows: dict[str, list[BenchRun]]) -> dict[str, list[int | None]]:
    """Per row and seed: evaluations until the pick reaches EI's final worst-group accuracy."""
    targets = [r.worst_group_acc for r in rows["ei"]]
    out: dict[str, list[int | None]] = {}
    for name, runs in rows.items():
        out[name] = [
            next((n for n, acc in run.checkpoints if acc >= target - _REACH), None)
            for run, target in zip(runs, targets, strict=True)
        ]
    return out


def ablation_json(
    rows: dict[str, list[BenchRun]], budget: int, seeds: Sequence[int]
) -> dict[str, Any]:
    """The demo's schema plus ``paired`` (worst group, DRO minus other) and ``efficiency``."""
    payload = to_json(rows, budget, seeds)  # type: ignore[arg-type]
    dro = [r.worst_group_acc for r in rows["dro"]]
    payload["paired"] = {
        key: paired(dro, [r.worst_group_acc for r in rows[other]]) for key, other in PAIRS.items()
    }
    payload["efficiency"] = efficiency(rows)
    return payload
