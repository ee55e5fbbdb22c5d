"""Printed report and files of ``droiz bench sim`` (SIMULATED)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from droiz.bench.paired import paired_line
from droiz.bench.sim import BenchRun
from droiz.sim.demo import ROW_TITLES
from droiz.sim.env import LABEL
from droiz.sim.report import format_table, plot_curves

PAIR_TITLES = {"dro-ei": "EI", "dro-ucb": "UCB", "dro-vs-r0": "robust UCB radius 0"}


def format_report(
    rows: dict[str, list[BenchRun]],
    payload: dict[str, Any],
    scenario: str,
    budget: int,
    ambiguity: str,
    group_rule: str,
) -> str:
    """The demo's table, then sample efficiency and the paired worst-group differences."""
    n = len(payload["seeds"])
    lines = [
        f"[{LABEL}] ablation: ambiguity {ambiguity}, group rule {group_rule!r} for every method",
        format_table(rows, scenario, budget),  # type: ignore[arg-type]
        "",
        f"[{LABEL}] sample efficiency: evaluations until the method's own pick (checked after "
        f"every tell) reaches EI's final worst-group test accuracy on the same seed",
        f"{'method':32s} {'reached':>9s} {'median evals':>13s}",
    ]
    for name, values in payload["efficiency"].items():
        hit = [v for v in values if v is not None]
        median = f"{statistics.median(hit):13.0f}" if hit else f"{'-':>13s}"
        lines.append(f"{ROW_TITLES[name]:32s} {len(hit):>4d}/{n:<4d} {median}")
    lines += ["", f"[{LABEL}] worst-group test accuracy, DRO minus the other method:"]
    for key, stats in payload["paired"].items():
        lines.append("  " + paired_line(f"DRO - {PAIR_TITLES[key]}", stats, n))
    return "\n".join(lines)


def write_outputs(
    out: Path,
    rows: dict[str, list[BenchRun]],
    payload: dict[str, Any],
    settings: dict[str, Any],
) -> list[Path]:
    """``results.json`` (payload, label, settings, curves, picks, checkpoints) and the plot."""
    out.mkdir(parents=True, exist_ok=True)
    full = {"label": LABEL, **settings, **payload}
    full["curves"] = {name: [r.curve for r in res] for name, res in rows.items()}
    full["instructions"] = {name: [r.instruction for r in res] for name, res in rows.items()}
    full["checkpoints"] = {name: [r.checkpoints for r in res] for name, res in rows.items()}
    results = out / "results.json"
    results.write_text(json.dumps(full, indent=2) + "\n")
    plot = plot_curves(out / "best_so_far.png", rows, settings["scenario"])  # type: ignore[arg-type]
    return [results, plot]
