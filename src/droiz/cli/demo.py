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
    """The checks argparse does not make (the counts' bounds are declared with their flags)."""
    from droiz.ambiguity import parse_ambiguity

    parse_ambiguity(args.ambiguity)


DEMO_PAIRS = (("method", "dro", "ei"), ("method", "dro", "ucb"))
DEMO_METRICS = ("worst_group_acc", "mean_acc")


def run(args: argparse.Namespace) -> int:
    from droiz.cli._outputs import claim_outputs
    from droiz.validate import claimed

    _validate(args)
    claims = claim_outputs(args)  # proven writable by creating them, before any work
    with claimed(*claims):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
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
