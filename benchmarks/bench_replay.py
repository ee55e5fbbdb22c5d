"""CPU time of ``droiz bench table replay``: methods x seeds x tasks on answer tables.

Run: ``python benchmarks/bench_replay.py [--seeds 100] [--tasks 3] [--methods dro,ucb,ei,hybrid,
random] [--budget 20]``. Single thread (set here), one process. The tables are SIMULATED
(:func:`droiz.testing.tables.synthetic_table`: 60 instructions with one-hot features, 3 groups,
30 dev and 50 test examples per group, the size of a real table), so no model is needed. The
replay runs as the command does (``--n-init 6 --batch-size 2``, 3 finalists) and the comparisons
are included. Target: 100 seeds x 5 methods x 3 tasks at budget 20 within 3,600 CPU seconds,
judged on the process's CPU time (``time.process_time``): on a shared machine the wall clock
mostly measures the other processes, so it is printed but not judged.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import tempfile
import time
from pathlib import Path

import torch

from droiz.bench.replay import ReplaySettings, read_table, run_replay
from droiz.testing.tables import write_synthetic_table

TARGET = 3600.0  # CPU seconds for 100 seeds x 5 methods x 3 tasks at budget 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--methods", default="dro,ucb,ei,hybrid,random")
    parser.add_argument("--budget", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    methods = tuple(args.methods.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            write_synthetic_table(Path(tmp) / f"t{k}.json", task=f"task{k}", seed=k)
            for k in range(args.tasks)
        ]
        tables = [read_table(p) for p in paths]
    settings = ReplaySettings(methods=methods, seeds=args.seeds, budget=args.budget)
    runs = args.seeds * len(methods) * args.tasks
    print(
        f"replay: {args.tasks} SIMULATED tables (60 instructions x 3 groups x 30 dev + 50 test), "
        f"{len(methods)} methods, {args.seeds} seeds, budget {args.budget}: {runs} runs"
    )
    cpu, wall = time.process_time(), time.perf_counter()
    replay = run_replay(tables, settings)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{len(replay.picks)} picks, {len(replay.comparisons)} comparisons")
    print(f"CPU {cpu:.0f} s ({1000 * cpu / runs:.0f} ms a run), wall {wall:.0f} s, one thread")
    full = args.seeds * len(methods) * args.tasks
    scaled = cpu * (100 * 5 * 3) / full
    verdict = "met" if scaled <= TARGET else "NOT met"
    print(f"target: 1,500 runs within {TARGET:,.0f} CPU s; at this rate {scaled:,.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
