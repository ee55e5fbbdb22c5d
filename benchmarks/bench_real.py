"""The real-model table: SmolLM2-135M-Instruct as executor, as a thin wrapper over
``droiz bench grid`` (results: ``docs/results.md``).

Run by hand, not in CI. It writes ``ROOT/grid.toml`` (the shared cell settings, and per task the
task's ``pool:`` file from ``benchmarks/pools`` and its answer filter, ``make_pools.FILTERS``),
prints the ``droiz bench grid`` command and runs it: one ordinary ``droiz optimize`` run
directory per (task, method, seed) under ``ROOT/grid/cells/``, one response cache
``ROOT/cache`` (identical prompts are paid once over all cells), the report
``ROOT/grid/report.md`` with ``results.csv`` and plots. A rerun resumes: finished cells are
skipped, started ones resume from their journals.

Beside the grid, two rows the grid has no method for: a hand-written-instruction baseline per
task (the pool's first instruction, no directive, on the same test examples;
``ROOT/baselines.json``) and a line measuring SmolLM2 as a soft-prompt *generator* (one
``random`` grid cell with ``--generator hf:smollm2-135m`` under ``ROOT/generator/``: the share of
its distinct instructions scoring above zero on dev).

    scripts/llama-server.sh start --port 8093 --parallel 4 &
    OMP_NUM_THREADS=1 python benchmarks/bench_real.py --base-url http://127.0.0.1:8093/v1 \
        --concurrency 4                                       # add --dry-run to bound it first
    OMP_NUM_THREADS=1 python benchmarks/bench_real.py          # in process (hf:smollm2-135m)

The numbers are those of a 135M model: they show what the pipeline does on a real LLM, not what
instruction optimisation gains on a strong one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_pools import TASKS, answer_filter, build_pool, make_real_executor, pool_path

METHODS = ("dro", "ei", "ucb", "random")
# The four tasks where SmolLM2-135M scores well above zero with a hand-written instruction.
# antonyms (8.8 %) and sentiment (always "Positive": the majority class) have pools too.
DEFAULT_TASKS = ("first_word_letter", "singular_to_plural", "larger_animal", "rhymes")
SHARED = ("budget", "n_init", "batch_size", "n_dev", "n_test", "groups", "groups_per_round",
          "finalists", "max_answer_tokens")  # fmt: skip


def task_filter(task: str, args: argparse.Namespace) -> str:
    """``--answer-filter`` if given, else the task's own (``make_pools.answer_filter``)."""
    return args.answer_filter or answer_filter(task)


def grid_config(args: argparse.Namespace) -> dict[str, Any]:
    """The grid's ``--config``: shared settings, and per task its pool and answer filter."""
    config: dict[str, Any] = {name: getattr(args, name) for name in SHARED}
    config["per_task"] = {
        task: {
            "generator": f"pool:{pool_path(task).resolve()}",
            "answer_filter": task_filter(task, args),
        }
        for task in args.tasks
    }
    return config


def write_toml(path: Path, config: dict[str, Any]) -> Path:
    """``config`` as TOML (strings, integers and one level of ``per_task`` tables)."""

    def lines(table: dict[str, Any]) -> list[str]:
        return [f"{k} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, dict)]

    out = lines(config)
    for task, table in config.get("per_task", {}).items():
        out += ["", f"[per_task.{task}]", *lines(table)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def grid_argv(args: argparse.Namespace, config: Path) -> list[str]:
    """The ``droiz bench grid`` arguments of the table."""
    argv = [
        "bench", "grid", "--tasks", ",".join(args.tasks), "--methods", ",".join(args.methods),
        "--seeds", str(args.seeds), "--executor", args.executor, "--config", str(config),
        "--cache-dir", str(args.root / "cache"), "--workers", str(args.workers),
        "--out", str(args.root / "grid"),
    ]  # fmt: skip
    if args.base_url:
        argv += ["--base-url", args.base_url]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    return argv + (["--dry-run"] if args.dry_run else [])


def baselines(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The hand-written instruction (the pool's first) of each task on the test split."""
    import droiz

    executor = make_real_executor(
        args.executor, base_url=args.base_url, max_tokens=args.max_answer_tokens,
        concurrency=args.concurrency, cache_dir=str(args.root / "cache"),
    )  # fmt: skip
    out = {}
    for task in args.tasks:
        instruction = build_pool(task)[0]
        r = droiz.evaluate(
            task, instruction, executor=executor, split="test", n=args.n_test,
            groups=args.groups, answer_filter=task_filter(task, args),
        ).report  # fmt: skip
        out[task] = {"instruction": instruction, "mean": r.mean, "worst": r.worst_group,
                     "shifted": r.shifted}  # fmt: skip
        print(f"hand-written {task}: {json.dumps(out[task])}", flush=True)
    return out


def distinct_instructions(run_dir: Path) -> list[dict[str, Any]]:
    """Per distinct instruction of the journal: its dev mean of every group it was evaluated on."""
    seen: dict[str, dict[str, float]] = {}
    with open(run_dir / "journal.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record.get("type") == "eval":
                scores = {k: v for k, v in record["group_scores"].items() if v is not None}
                seen.setdefault(record["instruction"], {}).update(scores)
    return [{"instruction": k, "group_means": v} for k, v in seen.items()]


def generator_line(args: argparse.Namespace) -> dict[str, Any]:
    """SmolLM2 as soft-prompt generator: one ``random`` grid cell; distinct instructions > 0."""
    from droiz.bench.grid_api import run_grid

    task, budget = args.generator_task, args.generator_budget
    out = args.root / "generator"
    config = {name: getattr(args, name) for name in SHARED}
    config.update(budget=budget, n_init=budget, batch_size=budget, finalists=0)
    run_grid(
        out, [task], ["random"], 1, config=config, generator=args.generator,
        executor=args.executor, base_url=args.base_url, concurrency=args.concurrency,
        cache_dir=str(args.root / "cache"), answer_filter=task_filter(task, args), workers=1,
    )  # fmt: skip
    rows = distinct_instructions(out / "cells" / task / "random" / "seed-0")
    means = [statistics.fmean(r["group_means"].values() or [0.0]) for r in rows]
    return {
        "task": task,
        "budget": budget,
        "distinct": len(rows),
        "above_zero": sum(m > 0 for m in means),
        "examples": [r["instruction"] for r in rows[:3]],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--tasks", default=",".join(DEFAULT_TASKS), help=f"default {','.join(DEFAULT_TASKS)}"
    )
    p.add_argument("--methods", default=",".join(METHODS), help="default dro,ei,ucb,random")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (0: no grid)")
    p.add_argument("--budget", type=int, default=20, help="evaluations per cell (default 20)")
    p.add_argument("--n-init", type=int, default=8, help="initial design (default 8)")
    p.add_argument("--batch-size", type=int, default=4, help="instructions per round (default 4)")
    p.add_argument("--n-dev", type=int, default=8, help="dev examples per group (default 8)")
    p.add_argument("--n-test", type=int, default=10, help="test examples per group (default 10)")
    p.add_argument("--groups", default="clean,case,distractor", help="shift groups")
    p.add_argument("--groups-per-round", type=int, default=2)
    p.add_argument("--finalists", type=int, default=2)
    p.add_argument(
        "--answer-filter",
        help="answer filter chain for every task (default: per task, make_pools.FILTERS)",
    )
    p.add_argument("--max-answer-tokens", type=int, default=20, help="answer limit (default 20)")
    p.add_argument(
        "--executor", help="default: openai:smollm2 with --base-url, else hf:smollm2-135m"
    )
    p.add_argument("--base-url", help="a running llama-server, e.g. http://127.0.0.1:8080/v1")
    p.add_argument("--concurrency", type=int, help="match llama-server's --parallel")
    p.add_argument("--workers", type=int, default=2, help="grid cells at once (default 2)")
    p.add_argument("--generator", default="hf:smollm2-135m", help="generator of the generator line")
    p.add_argument("--generator-task", default="first_word_letter")
    p.add_argument("--generator-budget", type=int, default=0, help="0 (default): no such line")
    p.add_argument("--no-baseline", action="store_true", help="skip the hand-written rows")
    p.add_argument("--root", type=Path, default=Path("runs/bench_real"), help="grid and cache")
    p.add_argument("--dry-run", action="store_true", help="the grid's request bounds; send nothing")
    args = p.parse_args(argv)
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        p.error(f"--tasks: no pool for {', '.join(unknown)} (have: {', '.join(TASKS)})")
    if args.budget > len(build_pool(args.tasks[0])) // 3:
        p.error(f"--budget {args.budget} covers more than a third of the 60-instruction pool")
    if args.executor is None:
        args.executor = "openai:smollm2" if args.base_url else "hf:smollm2-135m"
    args.root = args.root.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    from droiz.cli import main as droiz

    args = parse_args(argv)
    if args.seeds:  # --seeds 0: only the rows beside the grid
        config = write_toml(args.root / "grid.toml", grid_config(args))
        command = grid_argv(args, config)
        print("droiz " + " ".join(command), flush=True)
        rc = droiz(command)
        if rc != 0 or args.dry_run:
            return rc
    extras: dict[str, Any] = {}
    if not args.no_baseline:
        extras["hand_written"] = baselines(args)
    if args.generator_budget:
        extras["generator"] = gen = generator_line(args)
        print(
            f"SmolLM2 soft-prompt generator ({gen['task']}, budget {gen['budget']}): "
            f"{gen['distinct']} distinct instructions, {gen['above_zero']} score above zero on "
            f"dev; e.g. {gen['examples']}"
        )
    if extras:
        (args.root / "extras.json").write_text(json.dumps(extras, indent=2) + "\n")
    if args.seeds:
        print(f"report: {args.root / 'grid' / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
