"""The first real-model results: SmolLM2-135M-Instruct as executor (issue 7, item 4).

Run by hand, not in CI. For every task, method and seed, one ordinary ``droiz.optimize`` run
directory: candidates from the task's ``pool:`` file (``benchmarks/make_pools.py``, 60
instructions), SmolLM2 as the executor (a running ``llama-server`` given by ``--base-url``, else
in process through ``hf:smollm2-135m``), the task's answer filter (``chat-answer``; for
larger_animal followed by a regex dropping a leading article: ``make_pools.FILTERS``). Beside
the table: a hand-written-instruction baseline per task (the pool's first instruction, no
directive) and a line measuring SmolLM2 as a soft-prompt *generator* (a ``random`` run with
``--generator hf:smollm2-135m``: the share of its distinct instructions scoring above zero on
dev).

Everything lives under ``--root``: ``pools/``, ``cache/`` (the shared response cache: identical
prompts are paid once over all cells) and ``runs/TASK/METHOD-sSEED/``. A finished cell writes
``cell.json`` and is read back on a rerun; an interrupted one is resumed (``resume=True``), so an
interrupted table resumes and a rerun costs nothing.

    OMP_NUM_THREADS=1 python benchmarks/bench_real.py --base-url http://127.0.0.1:8080/v1 \
        --concurrency 4                                       # against scripts/llama-server.sh
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
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_pools import TASKS, answer_filter, build_pool, make_real_executor, write_pools

METHODS = ("dro", "ei", "ucb", "random")
# The four tasks where SmolLM2-135M scores well above zero with a hand-written instruction.
# antonyms (8.8 %) and sentiment (always "Positive": the majority class) have pools too.
DEFAULT_TASKS = ("first_word_letter", "singular_to_plural", "larger_animal", "rhymes")


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``droiz.optimize`` settings shared by every cell (``answer_filter``: per task)."""
    out: dict[str, Any] = {
        "executor": args.executor,
        "budget": args.budget,
        "n_init": args.n_init,
        "batch_size": args.batch_size,
        "n_dev": args.n_dev,
        "n_test": args.n_test,
        "groups": args.groups,
        "groups_per_round": args.groups_per_round,
        "finalists": args.finalists,
        "cache_dir": str(args.root / "cache"),
        "max_answer_tokens": args.max_tokens,
    }
    if args.base_url:
        out["base_url"] = args.base_url
    if args.concurrency:
        out["concurrency"] = args.concurrency
    return out


def task_filter(task: str, args: argparse.Namespace) -> str:
    """``--answer-filter`` if given, else the task's own (``make_pools.answer_filter``)."""
    return args.answer_filter or answer_filter(task)


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


def run_cell(
    run_dir: Path, task: str, generator: str, method: str, seed: int, common: dict[str, Any]
) -> dict[str, Any]:
    """One ``droiz.optimize`` run (or its saved ``cell.json``)."""
    import droiz

    cell_file = run_dir / "cell.json"
    if cell_file.exists():
        return json.loads(cell_file.read_text(encoding="utf-8"))
    resume = (run_dir / "journal.jsonl").exists()
    if resume:
        check_saved(run_dir, {**common, "task": [task], "method": method, "seed": seed})
    start = time.perf_counter()
    if resume:
        result = droiz.optimize(out=run_dir, resume=True, progress=None, **_location(common))
    else:
        result = droiz.optimize(
            task=task, generator=generator, method=method, seed=seed, out=run_dir, **common
        )
    test = result.best["test"]
    cell = {
        "task": task,
        "method": method,
        "seed": seed,
        "instruction": result.instruction,
        "mean": test["mean"],
        "worst_group": test["worst_group"],
        "shifted": test["shifted"],
        "distinct": len(distinct_instructions(run_dir)),
        "requests": int(result.stats.get("requests", 0)),
        "cache_hits": int(result.stats.get("cache_hits", 0)),
        "seconds": time.perf_counter() - start,
        "resumed": resume,
    }
    cell_file.write_text(json.dumps(cell, indent=2) + "\n", encoding="utf-8")
    return cell


def check_saved(run_dir: Path, wanted: dict[str, Any]) -> None:
    """Stop when an interrupted cell was started with other settings (another --root is needed)."""
    with open(run_dir / "journal.jsonl", encoding="utf-8") as fh:
        saved = json.loads(fh.readline())["settings"]
    differ = sorted(k for k, v in wanted.items() if k in saved and saved[k] != v)
    if differ:
        raise SystemExit(
            f"bench_real: {run_dir} was started with other settings ({', '.join(differ)}); "
            "use another --root or delete that run directory"
        )


def _location(common: dict[str, Any]) -> dict[str, Any]:
    keep = ("base_url", "cache_dir", "concurrency")
    return {k: v for k, v in common.items() if k in keep}


def baseline(task: str, executor: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The hand-written instruction (the pool's first) on the test split."""
    import droiz

    instruction = build_pool(task)[0]
    result = droiz.evaluate(
        task, instruction, executor=executor, split="test", n=args.n_test,
        groups=args.groups, answer_filter=task_filter(task, args),
    )  # fmt: skip
    r = result.report
    return {
        "instruction": instruction,
        "mean": r.mean,
        "worst": r.worst_group,
        "shifted": r.shifted,
    }


def generator_line(args: argparse.Namespace, common: dict[str, Any]) -> dict[str, Any]:
    """SmolLM2 as soft-prompt generator: one ``random`` run; share of distinct instructions > 0."""
    task = args.generator_task
    run_dir = args.root / "runs" / task / "generator-smollm2"
    settings = {**common, "budget": args.generator_budget, "n_init": args.generator_budget}
    settings["answer_filter"] = task_filter(task, args)
    settings.update(finalists=0, batch_size=args.generator_budget)
    cell = run_cell(run_dir, task, args.generator, "random", 0, settings)
    rows = distinct_instructions(run_dir)
    means = [statistics.fmean(r["group_means"].values() or [0.0]) for r in rows]
    cell["above_zero"] = sum(m > 0 for m in means)
    cell["examples"] = [r["instruction"] for r in rows[:3]]
    return cell


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return f"{100 * statistics.fmean(values):.1f} ± {100 * statistics.stdev(values):.1f}"


def print_table(cells: list[dict[str, Any]], baselines: dict[str, dict[str, Any]]) -> None:
    print(
        "| task | method | seeds | mean | worst group | shifted mix | distinct | requests "
        "| cache hits | wall s |"
    )
    print("|---|---|---:|---|---|---|---:|---:|---:|---:|")
    for task in dict.fromkeys(c["task"] for c in cells):
        b = baselines.get(task)
        if b:
            print(
                f"| {task} | hand-written | – | {100 * b['mean']:.1f} | {100 * b['worst']:.1f} | "
                f"{100 * b['shifted']:.1f} | 1 | – | – | – |"
            )
        for method in dict.fromkeys(c["method"] for c in cells if c["task"] == task):
            rows = [c for c in cells if c["task"] == task and c["method"] == method]
            print(
                f"| {task} | {method} | {len(rows)} | {fmt([c['mean'] for c in rows])} | "
                f"{fmt([c['worst_group'] for c in rows])} | {fmt([c['shifted'] for c in rows])} | "
                f"{statistics.fmean(c['distinct'] for c in rows):.1f} | "
                f"{sum(c['requests'] for c in rows)} | {sum(c['cache_hits'] for c in rows)} | "
                f"{sum(c['seconds'] for c in rows):.0f} |"
            )
    sys.stdout.flush()


def paired_lines(cells: list[dict[str, Any]], base: str = "dro") -> list[str]:
    """Paired worst-group differences ``base`` minus each other method over (task, seed)."""
    worst = {(c["task"], c["seed"], c["method"]): c["worst_group"] for c in cells}
    lines = []
    for other in dict.fromkeys(c["method"] for c in cells if c["method"] != base):
        keys = sorted({(t, s) for t, s, m in worst if m == other and (t, s, base) in worst})
        if not keys:
            continue
        diffs = [worst[(t, s, base)] - worst[(t, s, other)] for t, s in keys]
        wins = sum(d > 1e-9 for d in diffs)
        losses = sum(d < -1e-9 for d in diffs)
        lines.append(
            f"{base} - {other}, worst group, over {len(diffs)} (task, seed) pairs: mean "
            f"{100 * statistics.fmean(diffs):+.1f} points, wins/ties/losses "
            f"{wins}/{len(diffs) - wins - losses}/{losses}"
        )
    return lines


def print_paired(cells: list[dict[str, Any]]) -> None:
    lines = paired_lines(cells)
    if lines:
        print()
        print("\n".join(lines))


def dry_run(args: argparse.Namespace, pools: dict[str, Path], common: dict[str, Any]) -> int:
    """Upper bounds of the requests every unfinished cell still sends (nothing is sent).

    Each cell is bounded alone, less what the shared cache holds now; cells of one seed share
    their initial design and many answers, so the table sends fewer requests than the sum."""
    from droiz.runner.api import dry_run as plan_cell

    total = tokens = 0
    for task in args.tasks:
        for seed in range(args.seeds):
            for method in args.methods:
                run_dir = args.root / "runs" / task / f"{method}-s{seed}"
                if (run_dir / "cell.json").exists():
                    continue
                resume = (run_dir / "journal.jsonl").exists()
                kwargs = {**common, "answer_filter": task_filter(task, args)}
                if resume:
                    plan = plan_cell(out=run_dir, resume=True, **_location(kwargs))
                else:
                    plan = plan_cell(
                        task=task, generator=f"pool:{pools[task]}", method=method, seed=seed,
                        out=run_dir, **kwargs,
                    )  # fmt: skip
                total += plan.requests
                tokens += plan.tokens
                print(f"{task} {method}-s{seed}: at most {plan.requests} requests")
    print(f"unfinished cells: at most {total} requests, {tokens} tokens (before sharing)")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--tasks", default=",".join(DEFAULT_TASKS), help=f"default {','.join(DEFAULT_TASKS)}"
    )
    p.add_argument("--methods", default=",".join(METHODS), help="default dro,ei,ucb,random")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=12, help="evaluations per run (default 12)")
    p.add_argument("--n-init", type=int, default=6, help="initial design (default 6)")
    p.add_argument("--batch-size", type=int, default=3, help="instructions per round (default 3)")
    p.add_argument("--n-dev", type=int, default=5, help="dev examples per group (default 5)")
    p.add_argument("--n-test", type=int, default=10, help="test examples per group (default 10)")
    p.add_argument("--groups", default="clean,case,distractor", help="shift groups")
    p.add_argument("--groups-per-round", type=int, default=2)
    p.add_argument("--finalists", type=int, default=2)
    p.add_argument(
        "--answer-filter",
        help="answer filter chain for every task (default: per task, make_pools.FILTERS)",
    )
    p.add_argument("--max-tokens", type=int, default=20, help="answer limit (default 20)")
    p.add_argument(
        "--executor", help="default: openai:smollm2 with --base-url, else hf:smollm2-135m"
    )
    p.add_argument("--base-url", help="a running llama-server, e.g. http://127.0.0.1:8080/v1")
    p.add_argument("--concurrency", type=int, help="match llama-server's --parallel")
    p.add_argument("--generator", default="hf:smollm2-135m", help="generator of the generator line")
    p.add_argument("--generator-task", default="first_word_letter")
    p.add_argument("--generator-budget", type=int, default=10, help="0: skip the generator line")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--root", type=Path, default=Path("runs/bench_real"), help="runs and cache")
    p.add_argument("--json", type=Path, help="write every cell as JSON here")
    p.add_argument(
        "--report-only", action="store_true", help="print the table of the finished cells only"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the request bounds of unfinished cells"
    )
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
    return args


def report_only(args: argparse.Namespace) -> int:
    """The table of every finished cell under ``--root`` (nothing is run)."""
    cells = []
    for task in args.tasks:
        for seed in range(args.seeds):
            for method in args.methods:
                cell = args.root / "runs" / task / f"{method}-s{seed}" / "cell.json"
                if cell.exists():
                    cells.append(json.loads(cell.read_text(encoding="utf-8")))
    baselines = {}
    for task in args.tasks:
        path = args.root / f"baseline-{task}.json"
        if path.exists():
            baselines[task] = json.loads(path.read_text(encoding="utf-8"))
    print_table(cells, baselines)
    print_paired(cells)
    gen = args.root / "runs" / args.generator_task / "generator-smollm2" / "cell.json"
    if gen.exists():
        print(f"\ngenerator line: {gen.read_text(encoding='utf-8')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    pools = dict(zip(args.tasks, write_pools(args.tasks, args.root / "pools"), strict=True))
    common = settings(args)
    print(f"executor {args.executor}" + (f" at {args.base_url}" if args.base_url else ""))
    print(json.dumps({k: v for k, v in common.items() if k != "executor"}))
    print("answer filters: " + json.dumps({t: task_filter(t, args) for t in args.tasks}))
    if args.report_only:
        return report_only(args)
    if args.dry_run:
        return dry_run(args, pools, common)
    baselines: dict[str, dict[str, Any]] = {}
    if not args.no_baseline:
        executor = make_real_executor(
            args.executor, base_url=args.base_url, max_tokens=args.max_tokens,
            concurrency=args.concurrency, cache_dir=common["cache_dir"],
        )  # fmt: skip
        for task in args.tasks:
            baselines[task] = baseline(task, executor, args)
            (args.root / f"baseline-{task}.json").write_text(json.dumps(baselines[task]) + "\n")
            print(f"baseline {task}: {json.dumps(baselines[task])}", flush=True)
        del executor
    cells = []
    for seed in range(args.seeds):  # seed by seed: an interrupted table has every task
        for task in args.tasks:
            for method in args.methods:
                run_dir = args.root / "runs" / task / f"{method}-s{seed}"
                kwargs = {**common, "answer_filter": task_filter(task, args)}
                cell = run_cell(run_dir, task, f"pool:{pools[task]}", method, seed, kwargs)
                cells.append(cell)
                print(f"cell {json.dumps(cell)}", flush=True)
    print()
    print_table(cells, baselines)
    print_paired(cells)
    gen = None
    if args.generator_budget:
        gen = generator_line(args, common)
        print(
            f"\nSmolLM2 soft-prompt generator ({args.generator_task}, budget "
            f"{args.generator_budget}): {gen['distinct']} distinct instructions, "
            f"{gen['above_zero']} score above zero on dev; e.g. {gen['examples']}"
        )
    if args.json:
        payload = {"cells": cells, "baselines": baselines, "generator": gen}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
