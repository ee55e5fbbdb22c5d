"""Which surrogate kernel should ``droiz optimize`` use?

The meaningful end-to-end benchmark of the runner: a ``pool:`` generator over the synthetic world's
40 instructions (robust, fragile, partial and wrong families with textual variants, see
``droiz.testing.worlds``) and a loopback OpenAI-compatible server whose answers are right only when
the instruction says the right thing. For each seed and kernel (``matern``, ``coupled-scores``,
``coupled-semantic``) one full ``droiz.optimize`` run with ``--method dro``; we report the test
accuracy of the final pick (mean and worst group), how often it is a robust instruction, and the
same for the engine's own pick (before the runner verifies its finalists), mean ± std over seeds.

    OMP_NUM_THREADS=1 python benchmarks/bench_kernels.py --seeds 10 --budget 150 --workers 2

The numbers are from a synthetic world: they compare kernels, not LLMs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

KERNELS = ("matern", "coupled-scores", "coupled-semantic")


def run_one(kernel: str, seed: int, budget: int, size: str, method: str) -> dict[str, Any]:
    """One optimisation run; the test accuracies of its final and of the engine's own pick."""
    import torch

    import droiz
    from droiz.testing import FakeOpenAIServer, InstructionWorld

    torch.set_num_threads(1)
    world = InstructionWorld(size, n_test=60, seed=seed)
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(answer=world.answer) as server:
        root = Path(tmp)
        task, pool = world.write_task(root / "reverse.jsonl"), world.write_pool(root / "pool.txt")
        start = time.perf_counter()
        result = droiz.optimize(
            task=str(task),
            generator=f"pool:{pool}",
            executor="openai:world",
            base_url=server.base_url,
            out=root / "run",
            cache_dir=root / "cache",
            method=method,
            kernel=kernel,
            budget=budget,
            seed=seed,
        )
        seconds = time.perf_counter() - start
        engine_index = result.best["engine_pick"]["evaluation"]
        records = (root / "run" / "journal.jsonl").read_text().splitlines()
        evals = [json.loads(line) for line in records if '"type": "eval"' in line]
        engine_text = next(r["instruction"] for r in evals if r["index"] == engine_index)
        engine_test = droiz.evaluate(
            task,
            engine_text,
            executor="openai:world",
            base_url=server.base_url,
            cache_dir=root / "cache",
        ).report
        first_robust = next(
            (r["index"] for r in evals if world.family(r["instruction"]) == "robust"), None
        )
    return {
        "kernel": kernel,
        "seed": seed,
        "worst": result.test.worst_group,
        "mean": result.test.mean,
        "robust": world.family(result.instruction) == "robust",
        "engine_worst": engine_test.worst_group,
        "engine_mean": engine_test.mean,
        "engine_robust": world.family(engine_text) == "robust",
        "first_robust_eval": first_robust,
        "requests": result.stats.get("requests", 0),
        "seconds": seconds,
    }


def _job(args: tuple[str, int, int, str, str]) -> dict[str, Any]:
    return run_one(*args)


def _fmt(values: list[float]) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:5.1f} ± {100 * std:4.1f}"


def table(rows: list[dict[str, Any]], kernels: tuple[str, ...]) -> str:
    """Mean ± std over seeds per kernel."""
    head = (
        f"{'kernel':18s} {'worst group':>13s} {'mean':>13s} {'robust':>7s}   "
        f"{'engine worst':>13s} {'engine mean':>13s} {'robust':>7s} {'1st robust':>10s} "
        f"{'s/run':>6s}"
    )
    lines = [head, "-" * len(head)]
    for kernel in kernels:
        rs = [r for r in rows if r["kernel"] == kernel]
        firsts = [r["first_robust_eval"] for r in rs if r["first_robust_eval"] is not None]
        lines.append(
            f"{kernel:18s} {_fmt([r['worst'] for r in rs]):>13s} "
            f"{_fmt([r['mean'] for r in rs]):>13s} "
            f"{sum(r['robust'] for r in rs):>3d}/{len(rs):<3d}   "
            f"{_fmt([r['engine_worst'] for r in rs]):>13s} "
            f"{_fmt([r['engine_mean'] for r in rs]):>13s} "
            f"{sum(r['engine_robust'] for r in rs):>3d}/{len(rs):<3d} "
            f"{statistics.fmean(firsts) if firsts else float('nan'):10.1f} "
            f"{statistics.fmean(r['seconds'] for r in rs):6.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--size", choices=("small", "large"), default="large")
    parser.add_argument("--method", default="dro")
    parser.add_argument("--kernels", default=",".join(KERNELS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    args = parser.parse_args(argv)
    kernels = tuple(k.strip() for k in args.kernels.split(","))
    jobs = [(k, s, args.budget, args.size, args.method) for s in range(args.seeds) for k in kernels]
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.workers) as pool:
        for row in pool.map(_job, jobs):
            rows.append(row)
            print(
                f"  {row['kernel']} seed {row['seed']}: worst {row['worst']:.3f}, "
                f"mean {row['mean']:.3f} ({row['seconds']:.0f} s)",
                file=sys.stderr,
            )
    print(
        f"[synthetic world, pool of {args.size} size] method {args.method}, budget {args.budget}, "
        f"{args.seeds} seeds; test accuracy (%) of the final pick, mean ± std over seeds"
    )
    print(table(rows, kernels))
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": rows}, indent=2)
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
