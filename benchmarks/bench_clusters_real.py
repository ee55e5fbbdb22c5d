"""DRO over ``--groups clusters:K`` against DRO over the synthetic shift groups, on a real model.

For each seed, two ``droiz optimize`` runs that differ only in their groups (the same task, pool,
executor, budget and seed): one over K k-means clusters of the inputs, one over the synthetic shift
groups. Each run's pick is then scored on the test split under *both* groupings (the clusters
saved by the cluster run, and the shift groups), which gives a 2 x 2 table of worst test groups
(rows: the grouping the run optimised over; columns: the grouping it is scored under) and, per
column, the paired difference of the two picks over seeds (``droiz.bench.paired.compare``).

Needs an OpenAI-compatible server, e.g. ``droiz serve smollm2-135m --port 8095``:

    OMP_NUM_THREADS=1 python benchmarks/bench_clusters_real.py --root runs/clusters-real \\
        --base-url http://127.0.0.1:8095/v1 --seeds 10 --data-dir ../shared/data

Answers go through the response cache (``--cache-dir``), so a rerun pays nothing again, and a run
directory that exists is resumed (a finished one is only read).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

LARGER_ANIMAL_FILTER = "chat-answer,regex:^(?:(?:a|an|the) )?(.+)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="folder for the runs and JSON")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--task", default="larger_animal")
    parser.add_argument("--pool", default=None, help="default: the factorial pool")
    parser.add_argument("--shift-groups", default="clean,format,distractor")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--n-dev", type=int, default=20)
    parser.add_argument("--n-test", type=int, default=50)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache-dir", default=None, help="default ROOT/cache")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    import droiz
    from droiz.bench.paired import compare
    from droiz.runner.evaluation import evaluate
    from droiz.tasks import load_task
    from droiz.tasks.clusters import Clusters, clustered

    pool = args.pool or f"benchmarks/pools/{args.task}-factorial.jsonl"
    answer_filter = LARGER_ANIMAL_FILTER if args.task == "larger_animal" else "chat-answer"
    cache_dir = args.cache_dir or str(args.root / "cache")
    endpoint = {
        "executor": f"openai:{args.model}",
        "base_url": args.base_url,
        "cache_dir": cache_dir,
        "concurrency": args.concurrency,
        "answer_filter": answer_filter,
        "max_answer_tokens": 24,
        "data_dir": args.data_dir,
    }
    groupings = {"clusters": f"clusters:{args.k}", "shift": args.shift_groups}
    worst: dict[tuple[str, str], list[float]] = {(r, c): [] for r in groupings for c in groupings}
    rows = []
    for seed in range(args.seeds):
        picks: dict[str, str] = {}
        clusters = None
        for name, groups in groupings.items():
            out = args.root / f"{name}-seed{seed}"
            result = droiz.optimize(
                args.task,
                generator=f"pool:{pool}",
                groups=groups,
                method="dro",
                seed=seed,
                budget=args.budget,
                n_init=6,
                batch_size=2,
                n_dev=args.n_dev,
                n_test=args.n_test,
                out=out,
                resume=out.exists(),
                **endpoint,
            )
            picks[name] = result.best.instruction
            if name == "clusters":
                saved = json.loads((out / "clusters.json").read_text(encoding="utf-8"))
                clusters = Clusters.from_dict(saved)
        task = load_task(args.task, args.data_dir, seed=seed)
        scored_tasks = {"clusters": clustered(task, clusters), "shift": task}
        for run_name, instruction in picks.items():
            for col, groups in groupings.items():
                result = evaluate(
                    scored_tasks[col],
                    instruction,
                    split="test",
                    groups=None if col == "clusters" else groups,
                    n=None if col == "clusters" else args.n_test,
                    seed=seed,
                    **endpoint,
                )
                worst[(run_name, col)].append(result.report.worst_group)
                rows.append(
                    {"seed": seed, "run": run_name, "scored": col, "per_group": result.per_group}
                )
        print(f"seed {seed}: " + ", ".join(f"{r}->{c} {v[-1]:.2f}" for (r, c), v in worst.items()))

    print(f"\n{args.task}, {args.model}, DRO, budget {args.budget}, {args.seeds} seeds")
    print("worst test group (%), mean over seeds; rows: optimised over, columns: scored under")
    print(f"{'':>22} | {'clusters:' + str(args.k):>12} | {args.shift_groups:>24}")
    for r in groupings:
        cells = [100 * sum(worst[(r, c)]) / len(worst[(r, c)]) for c in groupings]
        print(f"{'run over ' + r:>22} | {cells[0]:>12.1f} | {cells[1]:>24.1f}")
    comparisons = []
    for col in groupings:
        c = compare(
            "clusters-run",
            "shift-run",
            f"worst group under {col}",
            worst[("clusters", col)],
            worst[("shift", col)],
        )
        comparisons.append(c)
        print(
            f"clusters-run - shift-run, worst group under {col}: {c['diff']:+.1f} "
            f"[{c['ci'][0]:+.1f}, {c['ci'][1]:+.1f}], n {c['n']}, MDD "
            f"{c['mdd'] if c['mdd'] is None else round(c['mdd'], 1)}: {c['verdict']}"
        )
    report = {"task": args.task, "model": args.model, "comparisons": comparisons, "rows": rows}
    path = args.root / "clusters_real.json"
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
