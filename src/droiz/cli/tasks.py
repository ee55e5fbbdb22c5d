"""``droiz tasks list`` and ``droiz tasks show NAME``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from droiz.cli._errors import help_without_action

if TYPE_CHECKING:
    from collections.abc import Sequence

    from droiz.tasks import Example, Task
    from droiz.tasks.clusters import Clusters

SHORT_SOURCE = {
    "instruction-induction": "II-24",
    "instructzero-extra": "IZ-extra",
    "bigbench-ii": "BBII",
    "custom": "custom",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``tasks`` command and its ``list`` / ``show`` actions."""
    parser = subparsers.add_parser("tasks", help="list and inspect tasks")
    help_without_action(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    lister = actions.add_parser("list", help="list the built-in tasks with splits, metric, groups")
    _data_dir_option(lister)
    lister.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lister.set_defaults(func=run_list)

    show = actions.add_parser("show", help="show a task's splits, groups and example instances")
    show.add_argument("name", help="task name (e.g. sum, bbii/snarks) or a .jsonl/.csv file")
    _data_dir_option(show)
    show.add_argument("--metric", default=None, help="metric of a task file (default em)")
    show.add_argument("--split", default="test", choices=("induce", "dev", "test"))
    show.add_argument("-n", "--num", type=int, default=2, help="examples per group (default 2)")
    show.add_argument(
        "--seed", type=int, default=0, help="run seed of the perturbations and of the clusters"
    )
    show.add_argument(
        "--groups",
        default=None,
        metavar="GROUPS",
        help="clusters:K (K k-means clusters of the inputs' sentence embeddings: each one's "
        "size, most distinctive words and inputs) or comma-separated groups (default: the task's)",
    )
    show.add_argument(
        "--embedder",
        default=None,
        help="sentence-transformers model of --groups clusters:K (default: all-MiniLM-L6-v2)",
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(func=run_show)


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", default=None, help="benchmark data directory (default: $DROIZ_DATA_DIR)"
    )


def _summary(task: Task) -> dict[str, Any]:
    from droiz.tasks import BENCHMARK_TASKS

    return {
        "name": task.name,
        "source": task.source,
        "benchmark": task.name in BENCHMARK_TASKS,
        **task.sizes,
        "metric": task.metric,
        "groups": list(task.groups),
        "natural_groups": list(task.natural_groups),
    }


def run_list(args: argparse.Namespace) -> int:
    """Print every built-in task: source, split sizes, metric and groups."""
    from droiz.tasks import list_tasks, load_task

    rows = [_summary(load_task(name, args.data_dir)) for name in list_tasks()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'task':<40} {'source':<8} {'induce':>6} {'dev':>5} {'test':>4}  {'metric':<8} groups")
    for r in rows:
        mark = "*" if r["benchmark"] else " "
        print(
            f"{r['name'] + mark:<40} {SHORT_SOURCE[r['source']]:<8} {r['induce']:>6} "
            f"{r['dev']:>5} {r['test']:>4}  {r['metric']:<8} {','.join(r['groups'])}"
        )
    n_bench = sum(r["benchmark"] for r in rows)
    print(f"{len(rows)} tasks; * marks the {n_bench} benchmark tasks.")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print a task's splits, notes, the share of examples each group changes and examples."""
    from droiz.exceptions import ConfigError
    from droiz.tasks import load_task
    from droiz.validate import check_seed

    if args.num < 0:
        raise ConfigError(f"--num must be >= 0, got {args.num}")
    check_seed(args.seed)
    task = load_task(args.name, args.data_dir, seed=args.seed, metric=args.metric)
    clusters = None
    if args.groups is not None:
        task, clusters = _grouped(task, args.groups, args.seed, args.embedder)
    info = _details(task, args.split, args.num)
    if clusters is not None:
        info["clusters"] = _clusters(task, clusters)
    if args.json:
        print(json.dumps(info, indent=1, ensure_ascii=False))
    else:
        _print_details(info)
        if clusters is not None:
            _print_clusters(task, clusters, info["clusters"])
    return 0


def _grouped(
    task: Task, groups: str, seed: int, embedder: str | None
) -> tuple[Task, Clusters | None]:
    """The task with ``--groups``: its clusters (computed after the local checks) or a list of
    its groups."""
    from droiz.runner.settings.checks import check_names
    from droiz.tasks.clusters import check_cluster_count, cluster_count, cluster_task, clustered

    k = cluster_count(groups)
    if k is None:
        names = [g.strip() for g in groups.split(",")]
        check_names("--groups", names)
        return task.with_groups(names), None
    check_cluster_count(task, k)
    if embedder:
        from droiz.llm.checks import check_model_name

        check_model_name("--embedder", embedder)
    clusters = cluster_task(task, k, seed=seed, embedder=embedder)
    return clustered(task, clusters), clusters


def _clusters(task: Task, clusters: Clusters) -> dict[str, dict[str, Any]]:
    """``--json``'s ``clusters``: each cluster's ids, size and most distinctive words."""
    from droiz.tasks.clusters import distinctive_words

    words = distinctive_words(task, clusters)
    return {
        name: {"ids": list(ids), "size": len(ids), "words": words[name]}
        for name, ids in clusters.members.items()
    }


def _print_clusters(task: Task, clusters: Clusters, info: dict[str, dict[str, Any]]) -> None:
    from droiz.tasks.clusters import all_examples

    inputs = {e.id: e.input for e in all_examples(task)}
    print(
        f"\nclusters: {clusters.k} k-means clusters of the sentence embeddings of all "
        f"{len(inputs)} inputs (seed {clusters.seed})"
    )
    for name, entry in info.items():
        print(f"\n[{name}] {entry['size']} examples; words: {', '.join(entry['words']) or '-'}")
        for i in entry["ids"][:3]:
            print(f"    {i}: {inputs[i]!r}")


def _details(task: Task, split: str, num: int) -> dict[str, Any]:
    pool = task.split(split)
    counts = {g: sum(e.group == g for e in pool) for g in task.natural_groups}
    return {
        **_summary(task),
        "seed": task.seed,
        "files": list(task.files),
        "notes": list(task.notes),
        "split": split,
        "natural_counts": counts,
        "changed": task.change_rates(split),
        "examples": {g: _examples(task, g, pool, num) for g in task.groups},
    }


def _examples(task: Task, group: str, pool: Sequence[Example], num: int) -> list[dict[str, Any]]:
    from droiz.tasks.perturb import TEMPLATES

    names = {text: name for name, text in TEMPLATES.items()}
    if group in task.natural_groups:
        pool = [e for e in pool if e.group == group]
    rows = []
    for example in pool[:num]:
        inst = task.instance(example, group)
        template = names.get(inst.template) if inst.template else None
        rows.append(
            {
                "id": inst.example_id,
                "input": inst.input,
                "answers": list(inst.answers),
                "template": template,
            }
        )
    return rows


def _print_details(info: dict[str, Any]) -> None:
    bench = "; one of the 32 benchmark tasks" if info["benchmark"] else ""
    print(f"task: {info['name']} ({info['source']}{bench})")
    print(f"metric: {info['metric']}")
    print(
        f"splits: induce {info['induce']} (demonstrations), dev {info['dev']}, test {info['test']}"
    )
    print(f"groups: {', '.join(info['groups'])}")
    natural = ", ".join(f"{g} ({n})" for g, n in info["natural_counts"].items())
    print(f"natural groups ({info['split']} examples): {natural or '-'}")
    for path in info["files"]:
        print(f"file: {path}")
    for note in info["notes"]:
        print(f"note: {note}")
    rates = "  ".join(f"{g} {r:.2f}" for g, r in info["changed"].items())
    print(f"share of {info['split']} examples each group changes: {rates}")
    for group, rows in info["examples"].items():
        print(f"\n[{group}]")
        for row in rows:
            template = f"  template {row['template']}" if row["template"] else ""
            print(f"  {row['id']}{template}")
            print(f"    input:   {row['input']!r}")
            print(f"    answers: {row['answers']!r}")
