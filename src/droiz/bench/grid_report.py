"""The report of ``droiz bench grid``: the cells' results, tables and paired comparisons.

Everything comes from the cells' files: ``best.json`` (the test accuracy of the picked
instruction: mean over groups, worst group, shifted mixture, per group) and ``journal.jsonl``
(the robust value of the pick after each round, for the convergence curves). Accuracies are in
points (percent). See :mod:`droiz.bench.grid_plots` for the PNGs.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from droiz.bench.grid import Cell, CellOutcome, task_slug
from droiz.bench.grid_results import CSV_NAME, CellResult, read_cell, write_csv
from droiz.bench.paired import compare

REPORT_NAME = "report.md"
METRICS = {"test_mean": "mean over groups", "worst_group": "worst group", "shifted": "shifted"}


def _values(
    results: Sequence[CellResult], task: str | None, method: str, metric: str
) -> list[float]:
    return [
        r.metric(metric) for r in results if r.method == method and (task is None or r.task == task)
    ]


def _pm(values: Sequence[float]) -> str:
    if not values:
        return "–"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.fmean(values):.1f} ± {100 * sd:.1f}"


def task_means(
    results: Sequence[CellResult], tasks: Sequence[str], method: str
) -> dict[str, float]:
    """Mean test accuracy over seeds per task (tasks without a finished cell left out)."""
    out = {}
    for task in tasks:
        values = _values(results, task, method, "test_mean")
        if values:
            out[task] = statistics.fmean(values)
    return out


def head_to_head(
    results: Sequence[CellResult], tasks: Sequence[str], a: str, b: str, tie: float
) -> dict[str, Any] | None:
    """Per-task gain of ``a`` over ``b`` (mean over seeds): the median and win/tie/loss, a tie
    being ``|gain| <= tie`` (accuracy, not points)."""
    ma, mb = task_means(results, tasks, a), task_means(results, tasks, b)
    gains = [ma[t] - mb[t] for t in tasks if t in ma and t in mb]
    if not gains:
        return None
    slack = 1e-9  # a gain of exactly the margin is a tie despite rounding
    wins = sum(g > tie + slack for g in gains)
    losses = sum(g < -tie - slack for g in gains)
    return {
        "median_gain": statistics.median(gains),
        "wins": wins,
        "ties": len(gains) - wins - losses,
        "losses": losses,
        "tasks": len(gains),
    }


def paired_cells(
    results: Sequence[CellResult], a: str, b: str, metric: str, tie: float
) -> dict[str, Any] | None:
    """``a - b`` paired over the (task, seed) pairs both finished, in points, as
    :func:`droiz.bench.paired.compare` states it (``diff``, ``ci``, ``n``, ``mdd``,
    ``verdict``), with ``a``'s wins/ties/losses at ``tie`` (accuracy, not points)."""
    by = {(r.task, r.seed, r.method): r.metric(metric) for r in results}
    keys = sorted({(t, s) for t, s, m in by if m == a and (t, s, b) in by})
    if not keys:
        return None
    return compare(a, b, metric, [by[(*k, a)] for k in keys], [by[(*k, b)] for k in keys], tie)


def lead_method(methods: Sequence[str]) -> str:
    """The method the others are compared with: ``dro`` when it is in the grid."""
    return "dro" if "dro" in methods else methods[0]


def render(
    results: Sequence[CellResult],
    tasks: Sequence[str],
    methods: Sequence[str],
    settings: Mapping[str, Any],
    tie_margin: float,
    missing: Sequence[CellOutcome] = (),
    plots: Sequence[str] = (),
    per_task: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The Markdown report (``tie_margin`` in points); ``per_task``: the grid's per-task
    settings, by task as given."""
    tie = tie_margin / 100
    seeds = sorted({r.seed for r in results})
    lines = ["# droiz bench grid", ""]
    lines += [
        f"- tasks: {', '.join(tasks)}; methods: {', '.join(methods)}; seeds: "
        f"{', '.join(map(str, seeds)) or '–'}",
        f"- generator `{settings.get('generator') or 'per task'}`, executor "
        f"`{settings.get('executor') or 'per task'}`, "
        f"budget {settings.get('budget')}, ambiguity `{settings.get('ambiguity')}`",
        _rule_line(settings),
        *_per_task_lines(per_task or {}),
        f"- {len(results)} finished cells; accuracies are test accuracy of each cell's picked "
        "instruction, in points (%)",
        "",
        "## Test accuracy per task (mean ± std over seeds)",
        "",
        "| task | " + " | ".join(methods) + " |",
        "|---" * (len(methods) + 1) + "|",
    ]
    for task in tasks:
        cells = [_pm(_values(results, task, m, "test_mean")) for m in methods]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    avg = []
    for m in methods:
        means = task_means(results, tasks, m)
        avg.append(f"{100 * statistics.fmean(means.values()):.1f}" if means else "–")
    lines += ["| **average over tasks** | " + " | ".join(avg) + " |", ""]
    lines += _dro_vs_ei(results, tasks, methods, tie_margin)
    lines += [
        "## Worst-group and shifted-mixture test accuracy per method",
        "",
        "Mean ± std over all (task, seed) cells.",
        "",
        "| method | mean over groups | worst group | shifted mixture |",
        "|---|---|---|---|",
    ]
    for m in methods:
        row = [_pm(_values(results, None, m, k)) for k in METRICS]
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    lines += [""]
    lines += _paired_table(results, methods, tie, tie_margin)
    lines += _spend(results, methods)
    if missing:
        lines += ["## Cells not finished", "", "| cell | status | detail |", "|---|---|---|"]
        lines += [f"| {o.name} | {o.status} | {o.message.replace('|', '/')} |" for o in missing]
        lines += ["", "Rerun the same `droiz bench grid` command to resume them.", ""]
    if plots:
        lines += [
            "## Plots",
            "",
            "Convergence: the engine's robust value of its pick after each round (dev); for "
            "`random` and `dro-nobo` it is measured on the groups observed so far only.",
            "",
        ]
        lines += [f"![{p}]({p})" for p in plots] + [""]
    lines += [
        "## Files",
        "",
        "`results.csv` (one row per finished cell), `grid.json` (the grid's settings), "
        "`cells/TASK/METHOD/seed-N/` (ordinary `droiz optimize` run directories).",
        "",
    ]
    return "\n".join(lines)


def _rule_line(settings: Mapping[str, Any]) -> str:
    rule = settings.get("group_rule") or "per task"
    return (
        f"- group rule `{rule}` for every model-based method (model-free methods and the "
        "initial design draw the groups by the reference weights); each method's axes are in "
        "`results.csv` and `grid.json`"
    )


def _per_task_lines(per_task: Mapping[str, Mapping[str, Any]]) -> list[str]:
    if not per_task:
        return []
    tables = "; ".join(
        f"{task_slug(t)}: " + ", ".join(f"{k} `{v}`" for k, v in sorted(values.items()))
        for t, values in per_task.items()
    )
    return [f"- per-task settings (over the ones above): {tables}"]


def _spend(results: Sequence[CellResult], methods: Sequence[str]) -> list[str]:
    """Requests and cost per method, summed over its finished cells."""
    if not results:
        return []
    lines = [
        "## Spend",
        "",
        "Requests each method's finished cells sent (retries included) and their cost; answers "
        "from the shared response cache are free, so a method's count depends on the cells "
        "that ran before it.",
        "",
        "| method | cells | requests | cost (USD) |",
        "|---|---:|---:|---:|",
    ]
    for m in [*methods, None]:
        rows = [r for r in results if m is None or r.method == m]
        if rows:
            name = "**all**" if m is None else m
            requests, cost = sum(r.requests for r in rows), sum(r.cost for r in rows)
            lines.append(f"| {name} | {len(rows)} | {requests} | {cost:.4f} |")
    return [*lines, ""]


def _dro_vs_ei(
    results: Sequence[CellResult], tasks: Sequence[str], methods: Sequence[str], margin: float
) -> list[str]:
    lines = ["## DRO against EI (InstructZero)", ""]
    h2h = None
    if "dro" in methods and "ei" in methods:
        h2h = head_to_head(results, tasks, "dro", "ei", margin / 100)
    if h2h is None:
        return [*lines, "n/a: the grid needs finished `dro` and `ei` cells of a task.", ""]
    return [
        *lines,
        f"- median per-task gain of DRO over EI: {100 * h2h['median_gain']:+.1f} points "
        f"({h2h['tasks']} task(s), mean test accuracy over seeds)",
        f"- DRO's win/tie/loss against EI over tasks: {h2h['wins']}/{h2h['ties']}/"
        f"{h2h['losses']} (tie: |difference| <= {margin:g} point(s))",
        "",
    ]


def _paired_table(
    results: Sequence[CellResult], methods: Sequence[str], tie: float, margin: float
) -> list[str]:
    lead = lead_method(methods)
    others = [m for m in methods if m != lead]
    if not others:
        return []
    lines = [
        f"## Paired differences: {lead} minus each method",
        "",
        "Mean difference in points over the (task, seed) pairs both finished, 95% percentile-"
        "bootstrap interval (10,000 resamples, seed 0), the minimum detectable difference (MDD "
        "= 2.80 SD / sqrt(pairs)), the verdict (win, loss, equivalent within ±3 points by a "
        "TOST, inconclusive, or too few pairs below 10; `droiz.bench.paired`), and "
        f"{lead}'s wins/ties/losses over the pairs (tie: within {margin:g} point(s)).",
        "",
        "| comparison | metric | pairs | difference | 95% CI | MDD | verdict | wins/ties/losses |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in others:
        for metric, label in METRICS.items():
            p = paired_cells(results, lead, m, metric, tie)
            if p is None:
                continue
            lo, hi = p["ci"]
            mdd = "n/a" if p["mdd"] is None else f"{p['mdd']:.1f}"
            lines.append(
                f"| {lead} - {m} | {label} | {p['n']} | {p['diff']:+.1f} | [{lo:+.1f}, {hi:+.1f}] "
                f"| {mdd} | {p['verdict']} | {p['wins']}/{p['ties']}/{p['losses']} |"
            )
    return [*lines, ""]


def write_outputs(
    out: Path,
    cells: Sequence[Cell],
    outcomes: Sequence[CellOutcome],
    saved: Mapping[str, Any],
    tie_margin: float,
) -> list[Path]:
    """``report.md``, ``results.csv`` and the plots of the finished cells; returns their paths."""
    from droiz.bench.grid_plots import plot_all
    from droiz.runner.store.atomic import write_atomic

    results = [r for r in (read_cell(c) for c in cells) if r is not None]
    finished = {(r.task, r.method, r.seed) for r in results}
    missing = [
        o
        for c, o in zip(cells, outcomes, strict=True)
        if (c.slug, c.method, c.seed) not in finished
    ]
    tasks = list(dict.fromkeys(c.slug for c in cells))
    methods = list(saved["methods"])
    paths = [write_csv(out / CSV_NAME, results)]
    plots = plot_all(out, results, tasks, methods)
    text = render(results, tasks, methods, saved["settings"], tie_margin, missing,
                  [p.name for p in plots], saved.get("per_task"))  # fmt: skip
    write_atomic(out / REPORT_NAME, text)
    return [out / REPORT_NAME, *paths, *plots]
