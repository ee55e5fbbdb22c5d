"""``droiz bench grid``: the (task, method, seed) grid of ``droiz optimize`` runs (see
:mod:`droiz.bench.grid`); registered by :mod:`droiz.cli.bench`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from droiz._signals import Terminated
from droiz.cli._errors import path_arg
from droiz.cli._settings import add_setting_flags, given_settings
from droiz.cli._sim_args import SEEDS, WORKERS
from droiz.cli.optimize import cost_text
from droiz.exceptions import ConfigError
from droiz.runner.settings.checks import TRACKERS

if TYPE_CHECKING:
    from droiz.bench.grid import CellOutcome

METHODS = "dro,ei,ucb,hybrid,dro-nobo,random"


def register_grid(bench: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = bench.add_parser(
        "grid",
        help="the paper's table: a resumable (task, method, seed) grid of droiz optimize runs",
        description=(
            "Runs every (task, method, seed) cell as an ordinary droiz optimize run directory "
            "under OUT/cells/, on a local process pool or Ray, sharing one response cache; "
            "finished cells are skipped and started ones resumed on a rerun. Writes "
            "OUT/report.md, OUT/results.csv and PNGs. Every other flag is passed to each cell."
        ),
    )
    p.add_argument("--tasks", required=True, help="task names or files (a,b,c), or all")
    p.add_argument("--methods", default=METHODS, help=f"comma-separated (default {METHODS})")
    p.add_argument("--seeds", type=SEEDS, default=3, help="seeds 0..N-1 per cell (default 3)")
    p.add_argument("--out", required=True, type=path_arg, metavar="DIR", help="grid directory")
    p.add_argument(
        "--workers", type=WORKERS, default=2, help="cells run at once (default 2, at most 64)"
    )
    p.add_argument("--backend", default="pool", help="pool (default: local processes) or ray")
    p.add_argument(
        "--ray-address",
        default=None,
        help="address of an existing Ray cluster (default: RAY_ADDRESS, else a local Ray on "
        "127.0.0.1)",
    )
    p.add_argument(
        "--tie-margin",
        type=float,
        default=1.0,
        help="points of accuracy within which two methods tie (default 1)",
    )
    p.add_argument("--track", default="none", help="none (default) or mlflow, for every cell")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the request, token and cost bounds of every unfinished cell; send nothing",
    )
    add_setting_flags(p, "grid", help=_grid_help())
    p.add_argument("--config", type=path_arg, metavar="FILE", help="JSON or TOML cell settings")
    p.add_argument(
        "--plugin", action="append", default=[], metavar="MODULE", help="import MODULE first"
    )
    p.set_defaults(func=run_grid_cli)


def _grid_help() -> dict[str, str]:
    """Help texts of the settings that mean something else for a grid: the cache every cell
    shares, and the caps of each cell."""
    from droiz.runner.settings.checks import check_cap
    from droiz.runner.settings.config import settings_for

    caps = {n: s for n, s in settings_for("grid").items() if check_cap in s.checks}
    out = {"cache_dir": "response cache shared by every cell (default: OUT/cache)"}
    return out | {name: f"{s.help}; of each cell (default: none)" for name, s in caps.items()}


def run_grid_cli(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.bench.grid import CAPPED, FINISHED, SKIPPED, check_tie_margin, check_workers
    from droiz.bench.grid_api import run_grid
    from droiz.registry import load_plugins
    from droiz.runner.settings.files import read_config_file

    check_workers(args.workers)
    check_tie_margin(args.tie_margin)
    if args.track not in TRACKERS:
        raise ConfigError(f"--track must be none or mlflow, got {args.track!r}")
    if args.backend not in ("pool", "ray"):
        raise ConfigError(f"--backend must be pool or ray, got {args.backend!r}")
    load_plugins(args.plugin)
    config = read_config_file(args.config) if args.config else {}
    settings = given_settings(args, "grid")

    if args.dry_run:
        return print_grid_plan(args, config, settings)

    def on_done(outcome: CellOutcome) -> None:
        took = f" in {outcome.seconds:.0f} s" if outcome.seconds else ""
        why = f": {outcome.message}" if outcome.message else ""
        resumed = " (resumed)" if outcome.resumed else ""
        print(f"  {outcome.name}: {outcome.status}{resumed}{took}{why}", file=sys.stderr)

    try:
        result = run_grid(
            args.out,
            args.tasks.split(","),
            args.methods.split(","),
            args.seeds,
            config=config,
            plugins=args.plugin,
            backend=args.backend,
            workers=args.workers,
            ray_address=args.ray_address,
            track=None if args.track == "none" else args.track,
            tie_margin=args.tie_margin,
            on_done=on_done,
            **settings,
        )
    except KeyboardInterrupt as exc:  # the running cells were stopped as runs stop
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"droiz bench grid: {what}; rerun the same command to resume", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    for path in result.paths:
        print(f"wrote {path}")
    done = sum(o.status in (FINISHED, SKIPPED) for o in result.outcomes)
    print(f"{done} of {len(result.outcomes)} cells finished")
    if result.unfinished:
        first = result.unfinished[0]
        how = "with a higher cap" if first.status == CAPPED else "the same command"
        print(
            f"droiz bench grid: {len(result.unfinished)} cell(s) not finished ({first.name}: "
            f"{first.status}); rerun {how} to resume them",
            file=sys.stderr,
        )
        return 1
    return 0


def print_grid_plan(
    args: argparse.Namespace, config: dict[str, Any], settings: dict[str, Any]
) -> int:
    """``--dry-run``: one line per unfinished cell, then the totals (stdout; nothing is sent)."""
    from droiz.bench.grid_api import plan_grid

    plans = plan_grid(
        args.out, args.tasks.split(","), args.methods.split(","), args.seeds,
        config=config, plugins=args.plugin, **settings,
    )  # fmt: skip
    for cell, plan in plans:
        cached = f"; {plan.cached} answers already cached" if plan.cached else ""
        print(
            f"{cell.name}: {plan.remaining} evaluations to run, at most {plan.requests} requests, "
            f"{plan.tokens} tokens{cached}"
        )
    requests = sum(p.requests for _, p in plans)
    tokens = sum(p.tokens for _, p in plans)
    costs = [p.cost for _, p in plans if p.cost is not None]
    cost = cost_text(sum(costs) if len(costs) == len(plans) else None)
    print(
        f"dry run: {len(plans)} unfinished cell(s); at most {requests} requests, {tokens} tokens, "
        f"cost at most {cost}; nothing was sent"
    )
    print("cells of one seed share prompts (the initial design), so the grid sends less")
    return 0
