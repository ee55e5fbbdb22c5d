"""Printed report of ``droiz bench sim`` (SIMULATED)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from droiz.bench.sim import median_evaluations
from droiz.sim.demo import RunResult
from droiz.sim.env import LABEL
from droiz.sim.report import comparison_table, format_table, title


def format_report(
    rows: Mapping[str, Sequence[RunResult]],
    payload: Mapping[str, Any],
    settings: Mapping[str, Any],
    axes: Mapping[str, Mapping[str, str]],
) -> str:
    """The demo's table with each row's axes, sample efficiency, and the paired differences.

    ``settings``: ``scenario``, ``ambiguity``, ``budget``, ``group_rule`` (``None`` for the
    factorial ablation, whose rule is an axis) and ``design`` (``methods`` or ``ablation``).
    """
    budget, rule = settings["budget"], settings["group_rule"]
    design = "factorial ablation, robust final pick in every cell" if rule is None else "methods"
    lines = [
        f"[{LABEL}] bench sim ({design}): ambiguity {settings['ambiguity']}",
        format_table(rows, settings["scenario"], budget, rule, axes),
        "",
        efficiency_table(rows, payload, budget),
        "",
        comparison_table(payload["comparisons"], len(payload["seeds"])),
    ]
    if "main_effects" in payload:
        what = "main effects (a - b averaged over the matching cells, per seed)"
        lines += ["", comparison_table(payload["main_effects"], len(payload["seeds"]), what)]
    return "\n".join(lines)


def efficiency_table(
    rows: Mapping[str, Sequence[RunResult]], payload: Mapping[str, Any], budget: int
) -> str:
    """Per row: the worst-group AUC (mean ± std, points) and the evaluations to the target."""
    eff = payload["efficiency"]
    target, n = eff["target"], len(payload["seeds"])
    width = max(32, *(len(title(name)) for name in rows))
    lines = [
        f"[{LABEL}] sample efficiency: worst-group AUC = trapezoid area under the worst-group test "
        f"accuracy of the method's own pick (checked after every tell) from {eff['start']} "
        f"evaluations (the end of the initial design) to {budget}, divided by the "
        f"{budget - eff['start']} evaluations: its average over the search, in points; and the "
        f"evaluations until the pick reaches {title(target)}'s final worst group on the same seed "
        f"(seeds that never do count as >{budget})",
        f"{'method':{width}s} {'worst-group AUC':>16s} {'reached':>9s} {'median evals':>13s}",
    ]
    for name in rows:
        auc = [100 * v for v in payload["methods"][name]["worst_group_auc"]]
        sd = statistics.stdev(auc) if len(auc) > 1 else 0.0
        reach = eff["evaluations_to_target"][name]
        hit = sum(v is not None for v in reach)
        lines.append(
            f"{title(name):{width}s} {statistics.fmean(auc):8.1f} ± {sd:5.1f} "
            f"{hit:>4d}/{n:<4d} {median_evaluations(reach, budget):>13s}"
        )
    return "\n".join(lines)
