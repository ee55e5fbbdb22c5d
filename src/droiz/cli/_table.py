"""``droiz bench table build``: an answer table of one executor over a pool, a task's fixed dev
pool and test set (see :mod:`droiz.bench.table`); registered by :mod:`droiz.cli.bench`, with
``replay`` (:mod:`droiz.cli._replay`)."""

from __future__ import annotations

import argparse
import os
import sys

from droiz.cli._errors import help_without_action, path_arg
from droiz.cli._replay import register_replay


def register_table(bench: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = bench.add_parser(
        "table",
        help="answer tables: every pool instruction x group x example scored once by a model",
        description="Answer tables of per-example scores, for comparisons without a model.",
    )
    table = p.add_subparsers(dest="table_command", metavar="ACTION")
    _register_build(table)
    register_replay(table)
    help_without_action(p)


def _register_build(table: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = table.add_parser(
        "build",
        help="score every (pool instruction, group, example) of a fixed dev pool and test set",
        description=(
            "Runs the executor once over every (pool instruction, group, example) of the "
            "task's fixed dev pool (--n-dev examples) and test set (--n-test examples), "
            "through the response cache (an interrupted build resumes; nothing is paid twice), "
            "prints the headroom check on the dev pool, then writes a table of per-example "
            "scores (no task text) to --out."
        ),
    )
    p.add_argument("--task", required=True, help="task name or .jsonl/.csv task file")
    p.add_argument(
        "--pool",
        required=True,
        type=path_arg,
        metavar="FILE",
        help="instructions: .txt (one per line), .json (a list) or .jsonl (instruction, features)",
    )
    p.add_argument("--groups", required=True, help="comma-separated groups, e.g. clean,case")
    p.add_argument(
        "--n-dev",
        type=int,
        required=True,
        help="dev examples, each under every shift group and in its natural group if chosen",
    )
    p.add_argument("--n-test", type=int, required=True, help="test examples, likewise")
    p.add_argument("--executor", required=True, help="openai:MODEL or hf:PATH")
    p.add_argument("--base-url", help="endpoint of an openai: executor (default: OpenAI)")
    p.add_argument(
        "--answer-filter",
        metavar="NAME[,NAME...]",
        help="filters applied to each answer before the metric (e.g. chat-answer)",
    )
    p.add_argument("--max-answer-tokens", type=int, metavar="N", help="answer length limit")
    p.add_argument("--out", required=True, type=path_arg, metavar="TABLE", help="the .json table")
    p.add_argument("--seed", type=int, default=0, help="seed of the examples and shifts (0)")
    p.add_argument("--concurrency", type=int, help="requests in flight (default 16)")
    p.add_argument("--cache-dir", help="response cache directory (default: the user cache)")
    p.add_argument("--cache-namespace", help="cache namespace (default: endpoint host:port hash)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="NAME of the key variable")
    p.add_argument("--data-dir", help="data directory (default: DROIZ_DATA_DIR or download dir)")
    p.add_argument(
        "--headroom-only",
        action="store_true",
        help="score the dev pool, print the headroom check and stop (cheap screening; the "
        "answers are reused by the full build)",
    )
    p.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.bench.headroom import headroom_line
    from droiz.bench.table import TableSpec, build_table, table_summary

    spec = TableSpec(
        task=args.task,
        pool=str(args.pool),
        groups=tuple(g.strip() for g in args.groups.split(",")),
        n_dev=args.n_dev,
        n_test=args.n_test,
        executor=args.executor,
        base_url=args.base_url,
        answer_filter=args.answer_filter,
        max_answer_tokens=args.max_answer_tokens,
        concurrency=args.concurrency,
        seed=args.seed,
        cache_dir=args.cache_dir,
        cache_namespace=args.cache_namespace,
        api_key_env=args.api_key_env,
        data_dir=args.data_dir,
    )
    table = build_table(
        spec,
        args.out,
        headroom_only=args.headroom_only,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
        on_headroom=lambda check: print(headroom_line(check), flush=True),
    )
    for line in table_summary(table):
        print(line)
    usage = table["usage"]
    print(
        f"requests sent: {int(usage.get('requests', 0))}, cache hits: "
        f"{int(usage.get('cache_hits', 0))}"
    )
    if not args.headroom_only:
        size = os.path.getsize(args.out)
        print(f"wrote {args.out} ({size / 1024:.0f} KiB)")
    return 0
