"""``droiz bench grid`` end to end on the synthetic world, to show the shape of a grid report.

Two tasks of the reverse-the-word world of ``droiz.testing.worlds`` (the same words, split
differently into dev and test examples), its 16-instruction pool as the ``pool:`` generator, and
its SCRIPTED loopback server as the executor: no model at all, so the numbers say how droiz's
methods behave on a scripted world, not how any LLM does. Small cells (budget 20, ``matern``
kernel) so the whole grid takes minutes on 2 cores.

    OMP_NUM_THREADS=1 python benchmarks/bench_grid.py --out results/grid-world [--seeds 3]
        [--workers 2] [--backend pool|ray]

Prints the wall time, the requests the server saw, and the report's path; a second run with the
same ``--out`` resumes (here: skips every cell and sends nothing).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

CELLS = """\
budget = 20
n_init = 10
batch_size = 5
n_dev = 5
n_test = 20
finalists = 2
kernel = "matern"
[engine]
cma_starts = 3
cma_popsize = 10
cma_generations = 3
[executor_options.retry]
base_delay = 0.001
max_delay = 0.01
max_elapsed = 60
"""


def main() -> None:
    from droiz.cli import main as droiz
    from droiz.testing import FakeOpenAIServer, InstructionWorld

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="pool")
    args = parser.parse_args()
    world = InstructionWorld("small")
    inputs = args.out.with_name(args.out.name + "-inputs")
    inputs.mkdir(parents=True, exist_ok=True)
    tasks = [
        world.write_task(inputs / "reverse-a.jsonl"),
        InstructionWorld("small", n_induce=45, n_test=55).write_task(inputs / "reverse-b.jsonl"),
    ]
    pool = world.write_pool(inputs / "pool.txt")
    config = inputs / "cells.toml"
    config.write_text(CELLS)
    with FakeOpenAIServer(answer=world.answer, port=_port(inputs)) as server:
        start = time.perf_counter()
        code = droiz(
            [
                "bench", "grid",
                "--tasks", ",".join(map(str, tasks)),
                "--seeds", str(args.seeds),
                "--generator", f"pool:{pool}",
                "--executor", "openai:world",
                "--base-url", server.base_url,
                "--config", str(config),
                "--workers", str(args.workers),
                "--backend", args.backend,
                "--out", str(args.out),
            ]
        )  # fmt: skip
        took = time.perf_counter() - start
    print(f"exit {code}; {took:.0f} s wall; {server.n_requests} requests to the scripted server")
    print(f"report: {args.out / 'report.md'} (SCRIPTED loopback world, not an LLM)")


def _port(inputs: Path) -> int:
    """One port per output folder (saved beside it), so a rerun keeps the cache namespace."""
    saved = inputs / "port"
    if saved.exists():
        return int(saved.read_text())
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    saved.write_text(str(port))
    return port


if __name__ == "__main__":
    main()
