"""``droiz evaluate``: score one instruction on a task's groups with a black-box LLM."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from droiz.cli._report import print_groups, print_usage
from droiz.cli._settings import add_setting_flags, given_settings

if TYPE_CHECKING:
    from droiz.runner.evaluation import EvaluationResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score an instruction on a task's groups (per group, mean, worst group, shifted)",
        description=(
            "Runs the instruction on every example of the split under every group with the "
            "executor and prints per-group, mean, worst-group and shifted-mixture scores, and "
            "the requests, cache hits and tokens used. Answers are cached."
        ),
    )
    add_setting_flags(p, "evaluate")
    p.add_argument("--json", metavar="PATH", help="write every number as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.runner import evaluate
    from droiz.validate import claim_file, claimed

    claim = None if args.json is None else claim_file(args.json, "--json")  # before any work
    with claimed(claim):
        given = given_settings(args, "evaluate")
        result = evaluate(**{k: v for k, v in given.items() if v is not None})
        print_summary(result)
        if claim is not None:
            text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
            claim.path.write_text(text, encoding="utf-8")
            print(f"wrote {claim.path}")
    return 0


def print_summary(result: EvaluationResult) -> None:
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
