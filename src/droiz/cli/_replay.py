"""``droiz bench table replay``: methods over many seeds on answer tables, no request (see
:mod:`droiz.bench.replay`); :func:`register_replay` adds it to the ``table`` sub-commands
(:mod:`droiz.cli._table`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from droiz.axes import DEFAULT_GROUP_RULE, GROUP_RULE_CHOICES
from droiz.cli._errors import bounded_int, path_arg
from droiz.cli._outputs import claim_outputs
from droiz.cli._sim_args import SEEDS, WORKERS
from droiz.exceptions import ConfigError
from droiz.runner.settings.checks import LARGE_BUDGET

DEFAULT_METHODS = "dro,ucb,ei,hybrid,random"  # = droiz.bench.replay.DEFAULT_METHODS (start-up)


def register_replay(table: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = table.add_parser(
        "replay",
        help="run methods over many seeds on answer tables alone (no model, no request)",
        description=(
            "Runs each method (or, with --ablation, each cell of the factorial ablation) on "
            "every TABLE for seeds 0..N-1 as droiz optimize would with the table's pool: each "
            "seed draws --n-dev examples per group from the table's dev pool, every measurement "
            "is read from the table, and the final pick is scored on the table's fixed test "
            "set. Prints each paired comparison with its interval (test examples resampled "
            "jointly with the seeds), the number of pairs and the minimum detectable "
            "difference; writes DIR/replay.json, DIR/runs.csv and DIR/report.md."
        ),
    )
    p.add_argument("tables", nargs="+", type=path_arg, metavar="TABLE", help="answer tables")
    p.add_argument(
        "--methods", default=None, help=f"comma-separated methods (default {DEFAULT_METHODS})"
    )
    p.add_argument("--seeds", type=SEEDS, default=100, help="seeds 0..N-1 (default 100)")
    p.add_argument(
        "--budget",
        type=bounded_int(1, LARGE_BUDGET),
        default=20,
        help="evaluations per run (default 20)",
    )
    p.add_argument(
        "--group-rule",
        choices=GROUP_RULE_CHOICES,
        default=None,
        help=f"the group rule of every model-based method (default {DEFAULT_GROUP_RULE})",
    )
    p.add_argument(
        "--ablation",
        action="store_true",
        help="run the 12 cells of bench sim's factorial ablation instead of --methods",
    )
    p.add_argument("--out", required=True, type=path_arg, metavar="DIR", help="output folder")
    p.add_argument("--json", type=path_arg, metavar="PATH", help="also write the JSON here")
    p.add_argument("--n-dev", type=int, default=20, help="dev examples per group and seed (20)")
    p.add_argument("--n-init", type=int, default=6, help="initial design (default 6)")
    p.add_argument("--batch-size", type=int, default=2, help="evaluations a round (default 2)")
    p.add_argument(
        "--groups-per-round", type=int, default=2, help="groups an evaluation observes (2)"
    )
    p.add_argument("--ambiguity", default="kl:0.1", help="ambiguity set (default kl:0.1)")
    p.add_argument(
        "--finalists",
        type=int,
        default=3,
        help="instructions verified on every group before the final pick (default 3)",
    )
    p.add_argument(
        "--pool-dim",
        type=int,
        default=10,
        help="features of a table whose pool has none: sentence embeddings reduced by PCA (10)",
    )
    p.add_argument("--workers", type=WORKERS, default=1, help="processes (default 1, at most 64)")
    p.set_defaults(func=run_replay_cli)


def run_replay_cli(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.ablation and (args.group_rule is not None or args.methods is not None):
        raise ConfigError(
            "--ablation runs its 12 cells with both group rules; drop --methods and --group-rule"
        )
    from droiz.bench.replay import ReplaySettings, check_tables, read_table
    from droiz.validate import claimed

    methods = (args.methods or DEFAULT_METHODS).split(",")
    settings = ReplaySettings(
        methods=tuple(m.strip() for m in methods),
        seeds=args.seeds,
        budget=args.budget,
        group_rule=None if args.ablation else args.group_rule or DEFAULT_GROUP_RULE,
        ablation=args.ablation,
        n_dev=args.n_dev,
        n_init=args.n_init,
        batch_size=args.batch_size,
        groups_per_round=args.groups_per_round,
        ambiguity=args.ambiguity,
        finalists=args.finalists,
        pool_dim=args.pool_dim,
    )
    settings.check()
    tables = [read_table(path) for path in args.tables]
    check_tables(tables, settings)
    with claimed(*claim_outputs(args)):  # created before the runs, removed if they fail
        return _replay(args, tables, settings)


def _replay(args: argparse.Namespace, tables: list[Any], settings: Any) -> int:
    from droiz.bench.replay import run_replay
    from droiz.bench.replay_report import comparison_line, header, summary, to_json, write_outputs

    print("droiz bench table replay: running; no request is sent ...", file=sys.stderr)
    start = time.process_time()
    replay = run_replay(
        tables,
        settings,
        workers=args.workers,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    for line in header(replay):
        print(line)
    for task, rows in summary(replay).items():
        cells = ", ".join(f"{r} {m:.1f}/{w:.1f}" for r, (m, w) in rows.items())
        print(f"{task} (test mean / worst group, points, mean over seeds): {cells}")
    for c in replay.comparisons:
        print(comparison_line(c))
    print(f"requests sent: 0; {time.process_time() - start:.0f} CPU s in this process")
    payload = to_json(replay)
    for path in write_outputs(args.out, replay, payload):
        print(f"wrote {path}")
    if args.json:  # the same payload as DIR/replay.json
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0
