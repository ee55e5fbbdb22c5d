"""Printing shared by the commands that report per-group scores and LLM usage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from droiz.tasks.evaluation import GroupReport


def print_groups(
    report: GroupReport, counts: Mapping[str, int] | None = None, indent: str = "  "
) -> None:
    """One line per group (accuracy in %, the worst group marked), then mean/worst/shifted."""
    width = max(len(g) for g in report.per_group)
    for group, acc in report.per_group.items():
        n = f"  (n={counts.get(group, 0)})" if counts is not None else ""
        mark = "  <- worst" if group == report.worst_group_name else ""
        print(f"{indent}{group:<{width}}  {100 * acc:5.1f} %{n}{mark}")
    print(
        f"{indent}mean {100 * report.mean:.1f} %   worst group {100 * report.worst_group:.1f} % "
        f"({report.worst_group_name})   shifted mixture {100 * report.shifted:.1f} %"
    )


def print_usage(stats: Mapping[str, float]) -> None:
    """Requests sent, cache hits, tokens and (when priced) cost."""
    tokens = int(stats.get("prompt_tokens", 0) + stats.get("completion_tokens", 0))
    cost = float(stats.get("cost", 0.0))
    print(
        f"requests {int(stats.get('requests', 0))}, cache hits {int(stats.get('cache_hits', 0))}, "
        f"tokens {tokens}" + (f", cost {cost:.4f} USD" if cost > 0 else "")
    )
