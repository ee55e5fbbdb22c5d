"""``droiz demo``: every method on the SIMULATED environment, offline, in about a minute."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from droiz.cli._sim_args import add_sim_args
from droiz.exceptions import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
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


def paired_lines(rows: dict, n_seeds: int) -> str:
    """Worst-group test accuracy, DRO minus EI and minus UCB: difference, 95% bootstrap interval
    and wins/ties/losses over the seeds (as ``droiz bench sim`` prints them)."""
    from droiz.bench.paired import paired, paired_line

    dro = [r.worst_group_acc for r in rows["dro"]]
    lines = ["worst-group test accuracy, DRO minus the other method:"]
    for other, title in (("ei", "EI"), ("ucb", "UCB")):
        stats = paired(dro, [r.worst_group_acc for r in rows[other]])
        lines.append("  " + paired_line(f"DRO - {title}", stats, n_seeds))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    _validate(args)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.sim.demo import run_demo, to_json
    from droiz.sim.report import format_table, write_outputs

    seeds = list(range(args.seeds))
    start = time.perf_counter()
    print(
        f"droiz demo: SIMULATED environment, scenario {args.scenario!r}, seeds {seeds}, "
        f"budget {args.budget} (no LLM involved) ...",
        file=sys.stderr,
    )

    def progress(r: object) -> None:
        print(f"  done: {r.method} seed {r.seed}", file=sys.stderr)  # type: ignore[attr-defined]

    rows = run_demo(seeds, args.scenario, args.budget, args.ambiguity, args.workers, progress)
    payload = to_json(rows, args.budget, seeds)
    print(format_table(rows, args.scenario, args.budget))
    print(paired_lines(rows, len(seeds)))
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.out:
        for path in write_outputs(args.out, rows, payload, args.scenario):
            print(f"wrote {path}")
    return 0
