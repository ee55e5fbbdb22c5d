"""Tables, JSON and plots of the SIMULATED demo."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from droiz.axes import AXES
from droiz.bench.paired import MIN_PAIRS
from droiz.sim.demo import ROW_TITLES, RunResult
from droiz.sim.env import LABEL


def _mean_std(values: Sequence[float]) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:5.1f} ± {100 * std:4.1f}"


def rule_header(group_rule: str | None) -> str:
    """How the groups were chosen: one rule for every model-based method, or per row."""
    if group_rule is None:
        return "group rule per row (see its axes)"
    return (
        f"group rule {group_rule!r} for every model-based method (model-free methods sample by "
        f"the reference weights; the initial design rotates the groups)"
    )


def format_table(
    rows: Mapping[str, Sequence[RunResult]],
    scenario: str,
    budget: int,
    group_rule: str | None,
    axes: Mapping[str, Mapping[str, str]],
) -> str:
    """The demo's table: test accuracies (%) of each method's final pick, mean ± std over seeds,
    then each row's axes (acquisition / group rule / reference update / final pick)."""
    n_seeds = len(next(iter(rows.values())))
    header = (
        f"[{LABEL}] scenario {scenario!r}, {n_seeds} seed(s), budget {budget} evaluations, "
        f"{rule_header(group_rule)}; test accuracy (%) of each method's final instruction, "
        f"mean ± std over seeds"
    )
    width = max(32, *(len(title(name)) for name in rows))
    cols = (
        f"{'method':{width}s} {'mean':>13s} {'worst group':>13s} {'shifted mix':>13s} {'evals':>6s}"
    )
    lines = [header, "", cols, "-" * len(cols)]
    for name, res in rows.items():
        evals = statistics.fmean(r.evaluations for r in res)
        lines.append(
            f"{title(name):{width}s} {_mean_std([r.mean_acc for r in res]):>13s} "
            f"{_mean_std([r.worst_group_acc for r in res]):>13s} "
            f"{_mean_std([r.shifted_acc for r in res]):>13s} {evals:6.0f}"
        )
    lines += ["", "axes (acquisition / group rule / reference update / final pick):"]
    for name in rows:
        lines.append(f"  {title(name):{width}s} " + " / ".join(axes[name][k] for k in AXES))
    return "\n".join(lines)


def title(name: str) -> str:
    """A row's title (its name for the cells of the factorial ablation)."""
    return ROW_TITLES.get(name, name)


METRIC_TITLES = {
    "worst_group_acc": "worst-group test accuracy",
    "mean_acc": "mean test accuracy",
    "worst_group_auc": "worst-group AUC (average worst-group accuracy of the pick from the end "
    "of the initial design to the budget)",
}


def comparison_table(
    comps: Sequence[Mapping[str, Any]], n_seeds: int, what: str = "paired differences a - b"
) -> str:
    """The paired differences ``a - b`` in points, one block per metric (with the columns
    ``axis`` and ``within`` when the comparisons have them)."""
    lines = [
        f"[{LABEL}] {what} over {n_seeds} seed(s), in points: 95% bootstrap interval; MDD: the "
        f"smallest difference {n_seeds} pairs detect with 80% power; win/loss: the interval "
        f"excludes 0; equivalent: the 90% interval lies within ±3 points; fewer than "
        f"{MIN_PAIRS} pairs decide nothing"
    ]
    keys = [k for k in ("axis", "within") if any(c.get(k, "method") != "method" for c in comps)]
    widths = {k: max(len(k), *(len(str(c[k])) for c in comps)) + 1 for k in (*keys, "a", "b")}
    for metric in dict.fromkeys(c["metric"] for c in comps):
        lines += ["", f"{METRIC_TITLES.get(metric, metric)}:"]
        head = "".join(f"{k:{widths[k]}s}" for k in (*keys, "a", "b"))
        lines.append(f"  {head}{'diff':>6s}  {'95% interval':15s} {'n':>3s} {'MDD':>5s}  verdict")
        for c in comps:
            if c["metric"] != metric:
                continue
            lo, hi = c["ci"]
            mdd = "n/a" if c["mdd"] is None else f"{c['mdd']:.1f}"
            cells = "".join(f"{c[k]!s:{widths[k]}s}" for k in (*keys, "a", "b"))
            interval = f"[{lo:+.1f}, {hi:+.1f}]"
            lines.append(
                f"  {cells}{c['diff']:+6.1f}  {interval:15s} {c['n']:3d} {mdd:>5s}  {c['verdict']}"
            )
    return "\n".join(lines)


def write_outputs(
    out: Path,
    rows: Mapping[str, Sequence[RunResult]],
    payload: dict[str, Any],
    settings: Mapping[str, Any],
) -> list[Path]:
    """``results.json`` (the label, ``settings``, the JSON payload, curves, picks and
    checkpoints) and ``best_so_far.png``."""
    out.mkdir(parents=True, exist_ok=True)
    full = {"label": LABEL, **settings, **payload}
    full["curves"] = {name: [r.curve for r in res] for name, res in rows.items()}
    full["instructions"] = {name: [r.instruction for r in res] for name, res in rows.items()}
    full["checkpoints"] = {name: [r.checkpoints for r in res] for name, res in rows.items()}
    results = out / "results.json"
    results.write_text(json.dumps(full, indent=2) + "\n")
    return [results, plot_curves(out / "best_so_far.png", rows, settings["scenario"])]


def plot_curves(path: Path, rows: Mapping[str, Sequence[RunResult]], scenario: str) -> Path:
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
        label = title(name) + (" (= DRO without BO)" if name == "random" else "")
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
