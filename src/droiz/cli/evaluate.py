"""``droiz evaluate``: score one instruction on a task's groups with a black-box LLM."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from droiz.cli._report import print_groups, print_usage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score an instruction on a task's groups (per group, mean, worst group, shifted)",
        description=(
            "Runs the instruction on every example of the split under every group with the "
            "executor and prints per-group, mean, worst-group and shifted-mixture scores, and "
            "the requests, cache hits and tokens used. Answers are cached."
        ),
    )
    p.add_argument("--task", required=True, help="task name or .jsonl/.csv task file")
    p.add_argument("--instruction", required=True, help="the instruction to evaluate")
    p.add_argument("--executor", required=True, help="openai:MODEL or hf:PATH")
    p.add_argument("--base-url", help="endpoint of an openai: executor (default: OpenAI)")
    p.add_argument("--split", choices=("dev", "test"), default="test", help="default test")
    p.add_argument("--groups", help="comma-separated groups (default: the task's groups)")
    p.add_argument("-n", type=int, help="base examples (default: all of test, 20 of dev)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="NAME of the key variable")
    p.add_argument("--data-dir", help="data directory (default: DROIZ_DATA_DIR or download dir)")
    p.add_argument("--cache-dir", help="response cache directory (default: the user cache)")
    p.add_argument("--cache-namespace", help="cache namespace (default: endpoint host:port hash)")
    p.add_argument("--concurrency", type=int, help="requests in flight (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of dev subset and shifts (default 0)")
    p.add_argument(
        "--answer-filter",
        metavar="NAME[,NAME...]",
        help="filters applied in order to each answer before the metric: first-line, "
        "last-quoted, after-is, strip, regex:PATTERN, chat-answer (default: none)",
    )
    p.add_argument(
        "--max-answer-tokens",
        type=int,
        metavar="N",
        help="answer length limit of the executor (default: 256 for openai:, 64 for hf:)",
    )
    p.add_argument("--json", metavar="PATH", help="write every number as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.exceptions import ConfigError
    from droiz.runner import evaluate
    from droiz.validate import check_file_path

    if args.n is not None and args.n < 1:
        raise ConfigError(f"-n must be at least 1, got {args.n}")
    json_path = None if args.json is None else check_file_path(args.json, "--json")
    result = evaluate(
        args.task,
        args.instruction,
        executor=args.executor,
        split=args.split,
        groups=args.groups,
        n=args.n,
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        cache_namespace=args.cache_namespace,
        concurrency=args.concurrency,
        seed=args.seed,
        answer_filter=args.answer_filter,
        max_answer_tokens=args.max_answer_tokens,
    )
    print_summary(result)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {json_path}")
    return 0


def print_summary(result: Any) -> None:
    """A readable table of the scores and the usage."""
    report, stats = result.report, result.stats
    counts: dict[str, int] = {}
    for ex in result.examples:
        counts[ex["group"]] = counts.get(ex["group"], 0) + 1
    print(f"task {result.task}, {result.split} split, instruction {result.instruction!r}")
    if result.answer_filter:
        print(f"answer filter: {result.answer_filter}")
    print_groups(report, counts)
    kl = ", ".join(f"r={r:g}: {100 * v:.1f} %" for r, v in report.kl_worst.items())
    print(f"KL worst case around the train mix: {kl}")
    print_usage(stats)
