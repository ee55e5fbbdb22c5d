"""Which synthetic shift groups do ``--groups clusters:K`` clusters line up with?

Takes the test split of a built-in task under each of its shift groups (clean, case, typo,
format, distractor, ...), pools the perturbed inputs as one unlabelled task file (ids
``GROUP/EXAMPLE``), clusters it exactly as ``--groups clusters:K`` does (MiniLM sentence
embeddings, k-means with the seed) and prints the contingency table (clusters x shift groups),
the adjusted Rand index against the groups, and each cluster's most distinctive words.

    OMP_NUM_THREADS=1 python benchmarks/bench_clusters.py --task sentiment --data-dir DIR

K defaults to the number of groups. ``format`` changes the template, not the input, so its inputs
are the clean ones: no clustering of inputs can tell them apart.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--k", type=int, default=None, help="clusters (default: one per group)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.metrics import adjusted_rand_score

    from droiz.tasks import load_task
    from droiz.tasks.clusters import cluster_task, distinctive_words

    task = load_task(args.task, args.data_dir, seed=args.seed)
    groups = list(task.groups)
    dataset = task.dataset("test", groups=groups)
    rows = [
        {"id": f"{inst.group}/{inst.example_id}", "input": inst.input, "output": inst.answers[0]}
        for inst in dataset.instances
    ]
    k = args.k or len(groups)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{task.name}-shifted.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        pooled = load_task(path)
        start = time.perf_counter()
        clusters = cluster_task(pooled, k, seed=args.seed)
        seconds = time.perf_counter() - start
        words = distinctive_words(pooled, clusters)
    label = clusters.label_of()
    truth = [i.split("/", 1)[0] for i in sorted(label)]
    found = [label[i] for i in sorted(label)]
    print(
        f"task {task.name}, test split: {len(dataset.instances) // len(groups)} examples x "
        f"{len(groups)} groups = {len(rows)} inputs; K = {k}, seed {args.seed}; "
        f"clustered in {seconds:.1f} s"
    )
    ari = adjusted_rand_score(truth, found)
    print(f"adjusted Rand index (clusters vs shift groups): {ari:.3f}")
    print()
    print("| cluster | size | " + " | ".join(groups) + " | distinctive words |")
    print("|---|---:|" + "---:|" * len(groups) + "---|")
    for name, ids in clusters.members.items():
        counts = [sum(i.startswith(f"{g}/") for i in ids) for g in groups]
        cells = " | ".join(str(c) for c in counts)
        print(f"| {name} | {len(ids)} | {cells} | {', '.join(words[name])} |")


if __name__ == "__main__":
    main()
