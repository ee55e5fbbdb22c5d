"""The outputs of ``droiz bench table replay``: ``replay.json``, ``runs.csv`` and ``report.md``."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from droiz.axes import AXES
from droiz.bench.replay import LABEL, Replay
from droiz.bench.replay_stats import METRICS, metric_of

JSON_NAME, CSV_NAME, REPORT_NAME = "replay.json", "runs.csv", "report.md"


def to_json(replay: Replay) -> dict[str, Any]:
    """The replay's JSON: settings, tables, rows with their axes, every run's pick and test
    accuracies (fractions of 1), and the ``comparisons`` (points)."""
    runs = []
    for p in replay.picks:
        acc = replay.accuracy(p)
        table = next(t for t in replay.tables if t.task == p.task)
        runs.append(
            {
                "task": p.task,
                "row": p.row,
                "seed": p.seed,
                "pick": p.pick,
                "evaluations": p.evaluations,
                "test_mean": float(metric_of(acc, "test_mean")),
                "worst_group": float(metric_of(acc, "worst_group")),
                "per_group": dict(zip(table.groups, map(float, acc), strict=True)),
            }
        )
    return {
        "label": LABEL,
        "requests": 0,
        "settings": replay.settings.to_dict(),
        "tables": [t.describe() for t in replay.tables],
        "methods": replay.axes,
        "runs": runs,
        "comparisons": replay.comparisons,
    }


def summary(replay: Replay) -> dict[str, dict[str, tuple[float, float]]]:
    """Per task and row: the mean over seeds of the pick's test mean and worst group (points)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for t in replay.tables:
        out[t.task] = {}
        for row in replay.rows():
            accs = [replay.accuracy(p) for p in replay.picks if p.task == t.task and p.row == row]
            mean = float(np.mean([metric_of(a, "test_mean") for a in accs]))
            worst = float(np.mean([metric_of(a, "worst_group") for a in accs]))
            out[t.task][row] = (100 * mean, 100 * worst)
    return out


def comparison_line(c: Mapping[str, Any]) -> str:
    """``dro - random, mean over groups: +2.1 [-0.4, +4.6], 300 pairs, MDD 2.5: inconclusive``."""
    within = f" (within {c['within']})" if c.get("within") not in (None, "all") else ""
    mdd = "–" if c["mdd"] is None else f"{c['mdd']:.1f}"
    return (
        f"{c['a']} - {c['b']}{within}, {METRICS[c['metric']]}: {c['diff']:+.1f} "
        f"[{c['ci'][0]:+.1f}, {c['ci'][1]:+.1f}], {c['n']} pairs, MDD {mdd}: {c['verdict']}"
    )


def header(replay: Replay) -> list[str]:
    """The settings every report states: tables, rows, seeds, budget, design and group rule."""
    s = replay.settings
    tasks = ", ".join(f"{t.task} ({len(t.instructions)} instructions)" for t in replay.tables)
    design = (
        "the factorial ablation (acquisition x group rule x reference update, robust final pick)"
        if s.ablation
        else f"group rule `{s.group_rule}` for every model-based method (model-free methods and "
        "the initial design draw the groups by the reference weights)"
    )
    return [
        f"- {LABEL}; tables: {tasks}",
        f"- rows: {', '.join(replay.rows())}; seeds 0..{s.seeds - 1}; budget {s.budget} "
        f"({s.n_init} initial, batches of {s.batch_size}, {s.groups_per_round} groups an "
        f"evaluation); {s.n_dev} dev examples per group drawn per seed; ambiguity "
        f"`{s.ambiguity}`; finalists {s.finalists}",
        f"- {design}",
    ]


def render(replay: Replay) -> str:
    """The Markdown report."""
    lines = ["# droiz bench table replay", "", *header(replay), ""]
    lines += ["## Rows and their axes", "", "| row | " + " | ".join(AXES) + " |"]
    lines += ["|---" * (len(AXES) + 1) + "|"]
    lines += [f"| {r} | " + " | ".join(a[k] for k in AXES) + " |" for r, a in replay.axes.items()]
    lines += ["", "## Test accuracy of the pick (mean over seeds, points): mean / worst group", ""]
    rows = replay.rows()
    lines += ["| task | " + " | ".join(rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for task, by_row in summary(replay).items():
        cells = [f"{by_row[r][0]:.1f} / {by_row[r][1]:.1f}" for r in rows]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Paired comparisons",
        "",
        "Difference in points over the (task, seed) pairs, 95% interval of a bootstrap that "
        "resamples the test examples of each (task, group) jointly with the seeds, the minimum "
        "detectable difference (MDD, 80% power), and the verdict: win or loss (the interval "
        "excludes 0), equivalent (the 90% interval inside ±3 points), else inconclusive "
        "(too few pairs: fewer than 10).",
        "",
    ]
    lines += [f"- {comparison_line(c)}" for c in replay.comparisons]
    lines += ["", "## Files", "", f"`{JSON_NAME}`, `{CSV_NAME}` (one row per run).", ""]
    return "\n".join(lines)


def write_csv(path: Path, payload: Mapping[str, Any]) -> Path:
    fields = ["task", "row", "seed", "pick", "evaluations", "test_mean", "worst_group"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(payload["runs"])
    return path


def write_outputs(
    out: Path, replay: Replay, payload: Mapping[str, Any] | None = None
) -> list[Path]:
    """``replay.json``, ``runs.csv`` and ``report.md`` in ``out``; returns their paths."""
    payload = payload if payload is not None else to_json(replay)
    out.mkdir(parents=True, exist_ok=True)
    (out / JSON_NAME).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    write_csv(out / CSV_NAME, payload)
    (out / REPORT_NAME).write_text(render(replay), encoding="utf-8")
    return [out / JSON_NAME, out / CSV_NAME, out / REPORT_NAME]
