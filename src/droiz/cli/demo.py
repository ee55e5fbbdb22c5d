"""``droiz demo``: every method on the SIMULATED environment, offline, in about a minute.

Every model-based method uses the same group rule (``--group-rule``); the printed comparison
gives DRO's paired differences with their intervals, whichever way they fall.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from droiz.cli._sim_args import add_sim_args
from droiz.exceptions import ConfigError

if TYPE_CHECKING:
    from droiz.sim.demo import RunResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="compare DRO with EI, UCB, random search and DRO without BO (simulated, offline)",
        description=(
            "Runs DRO-InstructZero and its baselines with equal budgets on the SIMULATED prompt "
            "environment (no LLM, no network) and prints test accuracy of each final pick."
        ),
    )
    add_sim_args(p, seeds=3)
    p.set_defaults(func=run)


def _validate(args: argparse.Namespace) -> None:
    if args.seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {args.seeds}")
    if args.budget < 30:
        raise ConfigError(
            f"--budget must be at least 30 (25 Sobol points + a round), got {args.budget}"
        )
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    from droiz.validate import check_count, check_dir_path, check_file_path

    check_count("--seeds", args.seeds, 1, 10_000)
    check_count("--budget", args.budget, 30, 100_000)
    if args.out is not None:
        check_dir_path(args.out, "--out")
    if args.json is not None:
        check_file_path(args.json, "--json")
    from droiz.ambiguity import parse_ambiguity

    parse_ambiguity(args.ambiguity)


DEMO_PAIRS = (("method", "dro", "ei"), ("method", "dro", "ucb"))
DEMO_METRICS = ("worst_group_acc", "mean_acc")


def run(args: argparse.Namespace) -> int:
    _validate(args)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.axes import DEFAULT_GROUP_RULE
    from droiz.bench.sim import comparisons
    from droiz.sim.demo import SEARCH_METHODS, method_searches, run_demo, searches_axes, to_json
    from droiz.sim.report import comparison_table, format_table, write_outputs

    rule = args.group_rule or DEFAULT_GROUP_RULE
    seeds = list(range(args.seeds))
    start = time.perf_counter()
    print(
        f"droiz demo: SIMULATED environment, scenario {args.scenario!r}, seeds {seeds}, "
        f"budget {args.budget}, group rule {rule!r} (no LLM involved) ...",
        file=sys.stderr,
    )

    def progress(r: RunResult) -> None:
        print(f"  done: {r.method} seed {r.seed}", file=sys.stderr)

    rows = run_demo(seeds, args.scenario, args.budget, args.ambiguity, args.workers, progress, rule)
    axes = searches_axes(method_searches(SEARCH_METHODS, rule))
    payload = to_json(rows, args.budget, seeds, axes)
    print(format_table(rows, args.scenario, args.budget, rule, axes))
    print()
    print(comparison_table(comparisons(rows, DEMO_PAIRS, DEMO_METRICS), len(seeds)))
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.out:
        settings = {"scenario": args.scenario, "ambiguity": args.ambiguity, "group_rule": rule}
        for path in write_outputs(args.out, rows, payload, settings):
            print(f"wrote {path}")
    return 0
