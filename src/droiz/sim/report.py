"""Tables, JSON and plots of the SIMULATED demo."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from droiz.sim.demo import ROW_TITLES, RunResult
from droiz.sim.env import LABEL


def _mean_std(values: Sequence[float]) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:5.1f} ± {100 * std:4.1f}"


def format_table(rows: dict[str, list[RunResult]], scenario: str, budget: int) -> str:
    """The demo's table: test accuracies (%) of each method's final pick, mean ± std over seeds."""
    n_seeds = len(next(iter(rows.values())))
    header = (
        f"[{LABEL}] scenario {scenario!r}, {n_seeds} seed(s), budget {budget} evaluations; "
        f"test accuracy (%) of each method's final instruction, mean ± std over seeds"
    )
    cols = f"{'method':32s} {'mean':>13s} {'worst group':>13s} {'shifted mix':>13s} {'evals':>6s}"
    lines = [header, "", cols, "-" * len(cols)]
    for name, res in rows.items():
        evals = statistics.fmean(r.evaluations for r in res)
        lines.append(
            f"{ROW_TITLES[name]:32s} {_mean_std([r.mean_acc for r in res]):>13s} "
            f"{_mean_std([r.worst_group_acc for r in res]):>13s} "
            f"{_mean_std([r.shifted_acc for r in res]):>13s} {evals:6.0f}"
        )
    lines += ["", summary_line(rows)]
    return "\n".join(lines)


def summary_line(rows: dict[str, list[RunResult]]) -> str:
    """The mean-accuracy cost of robustness and the worst-group gain, DRO against EI."""

    def avg(name: str, attr: str) -> float:
        return statistics.fmean(getattr(r, attr) for r in rows[name])

    cost = 100 * (avg("ei", "mean_acc") - avg("dro", "mean_acc"))
    gain = 100 * (avg("dro", "worst_group_acc") - avg("ei", "worst_group_acc"))
    return (
        f"cost of robustness (EI mean - DRO mean): {cost:+.1f} points; "
        f"worst-group gain (DRO - EI): {gain:+.1f} points"
    )


def write_outputs(
    out: Path, rows: dict[str, list[RunResult]], payload: dict[str, Any], scenario: str
) -> list[Path]:
    """``results.json`` (the JSON payload plus curves and settings) and ``best_so_far.png``."""
    out.mkdir(parents=True, exist_ok=True)
    full = dict(payload)
    full["label"] = LABEL
    full["scenario"] = scenario
    full["curves"] = {name: [r.curve for r in res] for name, res in rows.items()}
    full["instructions"] = {name: [r.instruction for r in res] for name, res in rows.items()}
    results = out / "results.json"
    results.write_text(json.dumps(full, indent=2) + "\n")
    return [results, plot_curves(out / "best_so_far.png", rows, scenario)]


def plot_curves(path: Path, rows: dict[str, list[RunResult]], scenario: str) -> Path:
    """Best-so-far true robust value against evaluations, mean over seeds, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, res in rows.items():
        if name in ("ei-robust-select", "dro-nobo"):
            continue  # the same searches as EI and random search
        n = min(len(r.curve) for r in res)
        mean = [statistics.fmean(r.curve[i] for r in res) for i in range(n)]
        label = ROW_TITLES[name] + (" (= DRO without BO)" if name == "random" else "")
        ax.plot(range(1, n + 1), mean, label=label)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best-so-far true robust value")
    ax.set_title(f"{LABEL} environment, scenario {scenario!r}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
