"""``droiz report DIR``: regenerate a finished run's report.md and plot from its journal."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="regenerate a run's report.md and plot from its journal",
        description=(
            "Rebuilds report.md and best_so_far.png of a finished run from its config.json and "
            "journal.jsonl alone: no model is loaded and nothing is sent. best.json is left as "
            "it is."
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="the run directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.runner.outputs.replay import replay_run
    from droiz.runner.outputs.report import write_report
    from droiz.runner.store.rundir import RunDir

    replayed = replay_run(args.dir)
    paths = write_report(RunDir(args.dir), replayed.saved, replayed.result, replayed.records)
    for path in paths:
        print(f"wrote {path}")
    return 0
