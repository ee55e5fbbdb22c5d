"""``droiz runs list [DIR]``: the runs under a directory and where each stands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "runs",
        help="list run directories and where each stands",
        description="Commands about run directories (read-only: nothing is sent or written).",
    )
    inner = p.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)
    ls = inner.add_parser(
        "list",
        help="status, budget used, requests, cost and best robust value of each run",
        description=(
            "Lists every run directory under DIR (DIR itself if it is one): its status (running, "
            "finished, stopped at cap, aborted, crashed, unreadable), the evaluations done of its "
            "budget, the requests sent, the cost and the best robust value so far."
        ),
    )
    ls.add_argument(
        "dir",
        nargs="?",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="where to look (default: the current directory)",
    )
    ls.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from droiz.runner.store.runs import list_runs

    root: Path = args.dir
    if not root.is_dir():
        raise ConfigError(f"DIR {str(root)!r} is not a directory")
    runs = list_runs(root)
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2, ensure_ascii=False))
        return 0
    if not runs:
        print(f"no droiz runs under {root}")
        return 0
    print_table(runs)
    return 0


def print_table(runs: list[Any]) -> None:
    """One line per run: path, status, evaluations/budget, requests, cost, best robust value."""
    rows = [("run", "status", "evaluations", "requests", "cost (USD)", "best robust")]
    for r in runs:
        budget = "?" if r.budget is None else str(r.budget)
        best = "–" if r.best is None else f"{r.best:.4f}"
        rows.append(
            (
                str(r.path),
                r.status,
                f"{r.evaluations}/{budget}",
                str(r.requests),
                f"{r.cost:.4f}",
                best,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
