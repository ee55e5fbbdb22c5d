"""``droiz bench drbo`` and ``droiz bench sim``: the paper's comparisons without an LLM.

``drbo`` reproduces DRBO's robust-regret experiment on a synthetic GP-sampled problem; ``sim``
runs the seed paper's ablation on the SIMULATED prompt environment; ``grid`` runs the
(task, method, seed) grid of real ``droiz optimize`` runs (:mod:`droiz.cli._grid`); ``table``
builds and replays answer tables (:mod:`droiz.cli._table`, :mod:`droiz.cli._replay`). Each
sub-command is one ``_register_*`` function below or in those modules.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from droiz.cli._errors import bounded_int, help_without_action
from droiz.cli._grid import register_grid
from droiz.cli._outputs import add_outputs, claim_outputs
from droiz.cli._sim_args import SEEDS, add_sim_args
from droiz.cli._table import register_table
from droiz.exceptions import ConfigError

if TYPE_CHECKING:
    from droiz.sim.demo import RunResult

DRBO_SETS = ("kl", "tv", "chi2", "w1")  # = droiz.bench.drbo_problem.SETS (not imported: start-up)
MAX_DRBO_STEPS = 100_000
"""The most steps of ``bench drbo`` (its GP grows with every step)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bench",
        help="the paper's comparisons: DRBO robust regret, the simulated ablation, the grid",
        description="Benchmarks that reproduce the paper's comparisons (results: docs/results.md).",
    )
    bench = p.add_subparsers(dest="bench_command", metavar="BENCHMARK")
    _register_drbo(bench)
    _register_sim(bench)
    register_grid(bench)
    register_table(bench)
    help_without_action(p)


def _register_drbo(bench: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = bench.add_parser(
        "drbo",
        help="DRBO's robust-regret experiment: GP-UCB vs DRO-UCB vs WCS (synthetic, no LLM)",
        description=(
            "Cumulative robust regret of stochastic GP-UCB, exact DRO-UCB and the "
            "worst-case-sensitivity approximation on a GP-sampled 20 x 20 action x context grid "
            "with a shifted reference distribution (docs/bench.md)."
        ),
    )
    p.add_argument("--seeds", type=SEEDS, default=10, help="number of seeds, 0..N-1 (default 10)")
    p.add_argument(
        "--steps",
        type=bounded_int(1, MAX_DRBO_STEPS),
        default=200,
        help="steps T after 10 initial points (default 200)",
    )
    p.add_argument(
        "--sets",
        default=",".join(DRBO_SETS),
        help=f"comma-separated ambiguity sets (default {','.join(DRBO_SETS)})",
    )
    add_outputs(p, "the results")
    p.set_defaults(func=run_drbo)


def _register_sim(bench: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = bench.add_parser(
        "sim",
        help="the ablation (EI, UCB, DRO w/o BO, DRO, hybrid, summed bonus, ...), SIMULATED",
        description=(
            "The seed paper's ablation on the SIMULATED prompt environment (no LLM): every "
            "method with the same budget, seeds and group rule, or (--ablation) the factorial "
            "acquisition x group rule x reference update; paired differences and sample "
            "efficiency."
        ),
    )
    add_sim_args(p, seeds=20)
    p.add_argument(
        "--ablation",
        action="store_true",
        help="run the 12 cells acquisition {ucb, ucb-sum, robust-ucb} x group rule {reference, "
        "adversarial} x reference update {fixed, ema}, robust final pick, and compare every "
        "pair of cells that differ in one axis",
    )
    p.set_defaults(func=run_sim)


def _claimed(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``run`` with its ``--json`` and ``--out`` outputs created first (proven writable), and
    removed if it fails."""

    def guarded(args: argparse.Namespace) -> int:
        from droiz.validate import claimed

        with claimed(*claim_outputs(args)):
            return run(args)

    return guarded


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")


def parse_sets(text: str) -> list[str]:
    """The ``--sets`` list: known names, no repeats, at least one."""
    names = [s.strip().lower() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in DRBO_SETS]
    if not names or unknown or len(set(names)) != len(names):
        what = f"unknown set(s) {', '.join(unknown)}" if unknown else "an empty or repeated list"
        raise ConfigError(f"--sets got {what}; choose from {','.join(DRBO_SETS)}")
    return names


def run_drbo(args: argparse.Namespace) -> int:
    parse_sets(args.sets)  # before the outputs are created
    return _claimed(_run_drbo)(args)


def _run_drbo(args: argparse.Namespace) -> int:
    sets = parse_sets(args.sets)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from droiz.bench import drbo, drbo_problem, drbo_report

    torch.set_num_threads(1)
    seeds = list(range(args.seeds))
    print(f"droiz bench drbo: seeds {seeds}, {args.steps} steps, sets {sets} ...", file=sys.stderr)
    start = time.perf_counter()
    results = drbo.run_drbo(seeds, args.steps, sets)
    payload = drbo.to_json(results, args.steps, seeds)
    problem = drbo_problem.make_problem(0)
    radii = {n: drbo_problem.ambiguity_set(n, problem).radius for n in sets}
    print(drbo_report.format_table(payload, radii))
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        _write_json(args.json, payload)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        full = {**payload, "radii": radii, "flattens": drbo_report.flattening(payload)}
        (args.out / "results.json").write_text(json.dumps(full, indent=2) + "\n")
        print(f"wrote {args.out / 'results.json'}")
        print(f"wrote {drbo_report.plot(args.out / 'drbo_regret.png', payload)}")
    return 0


def run_sim(args: argparse.Namespace) -> int:
    if args.ablation and args.group_rule is not None:
        raise ConfigError(
            "--ablation runs both group rules (the rule is one of its axes); drop --group-rule"
        )
    from droiz.ambiguity import parse_ambiguity

    parse_ambiguity(args.ambiguity)
    return _claimed(_run_sim)(args)


def _run_sim(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.axes import DEFAULT_GROUP_RULE
    from droiz.bench.sim import ablation_design, design_json, methods_design
    from droiz.bench.sim_report import format_report
    from droiz.sim.demo import run_searches, searches_axes
    from droiz.sim.report import write_outputs

    rule: str | None = None if args.ablation else args.group_rule or DEFAULT_GROUP_RULE
    searches = ablation_design() if rule is None else methods_design(rule)
    seeds = list(range(args.seeds))
    design = "the factorial ablation" if args.ablation else f"group rule {rule!r}"
    print(
        f"droiz bench sim: SIMULATED environment (no LLM), scenario {args.scenario!r}, "
        f"seeds 0..{seeds[-1]}, budget {args.budget}, {design} ...",
        file=sys.stderr,
    )
    start = time.perf_counter()

    def progress(r: RunResult) -> None:
        print(f"  done: {r.method} seed {r.seed}", file=sys.stderr)

    rows = run_searches(
        searches, seeds, args.scenario, args.budget, args.ambiguity, args.workers, progress
    )
    payload = design_json(rows, searches, args.budget, seeds, args.ablation)
    settings = {
        "scenario": args.scenario,
        "ambiguity": args.ambiguity,
        "budget": args.budget,
        "group_rule": rule,
        "design": "ablation" if args.ablation else "methods",
    }
    print(format_report(rows, payload, settings, searches_axes(searches)))
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        _write_json(args.json, payload)
    if args.out:
        for path in write_outputs(args.out, rows, payload, settings):
            print(f"wrote {path}")
    return 0
