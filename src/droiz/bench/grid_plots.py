"""The PNGs of ``droiz bench grid`` (matplotlib, Agg backend).

- ``per_task_accuracy.png``: test accuracy per task, one bar per method, error bars ± std over
  seeds;
- ``convergence.png``: best-so-far robust value of the pick (dev) against evaluations, one line
  per method (mean over seeds) with a ± std band; one panel per task, or the mean over tasks when
  the grid has more than :data:`MAX_PANELS` tasks;
- ``groups_TASK.png``: per-group test accuracy, methods x groups (mean over seeds), one per task.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from droiz.bench.grid_results import CellResult

MAX_PANELS = 6


def _plt() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_all(
    out: Path, results: Sequence[CellResult], tasks: Sequence[str], methods: Sequence[str]
) -> list[Path]:
    """Every plot of the grid; returns the paths written."""
    if not results:
        return []
    paths = [per_task_bars(out / "per_task_accuracy.png", results, tasks, methods)]
    paths.append(convergence(out / "convergence.png", results, tasks, methods))
    for task in tasks:
        mine = [r for r in results if r.task == task]
        if mine:
            paths.append(group_heatmap(out / f"groups_{task}.png", mine, task, methods))
    return paths


def per_task_bars(
    path: Path, results: Sequence[CellResult], tasks: Sequence[str], methods: Sequence[str]
) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.5, 1.2 * len(tasks) * max(1, len(methods)) / 3), 4.4))
    width = 0.8 / len(methods)
    x = np.arange(len(tasks))
    for j, m in enumerate(methods):
        means, sds = [], []
        for t in tasks:
            v = [100 * r.metric("test_mean") for r in results if r.task == t and r.method == m]
            means.append(np.mean(v) if v else np.nan)
            sds.append(np.std(v, ddof=1) if len(v) > 1 else 0.0)
        ax.bar(x + (j - (len(methods) - 1) / 2) * width, means, width, yerr=sds, capsize=3, label=m)
    tilt = len(tasks) > 4  # long lists of names: tilted, anchored at their right end
    ax.set_xticks(x, tasks, rotation=30 if tilt else 0, ha="right" if tilt else "center")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("test accuracy per task (mean ± std over seeds)")
    ax.legend(fontsize="small", ncol=min(len(methods), 6), loc="upper center",
              bbox_to_anchor=(0.5, -0.12))  # fmt: skip
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def best_so_far(curve: Sequence[tuple[int, float]], budget: int) -> np.ndarray:
    """The best robust value after each of ``1..budget`` evaluations (NaN before round 1)."""
    y = np.full(budget, np.nan)
    best = -np.inf
    points = sorted(curve)
    for i, (n, value) in enumerate(points):
        best = max(best, value)
        end = points[i + 1][0] if i + 1 < len(points) else budget
        y[max(n, 1) - 1 : max(end, n)] = best
    return y


def _curves(results: Sequence[CellResult], method: str) -> dict[tuple[str, int], np.ndarray]:
    budget = max((int(r.best["budget"]) for r in results), default=1)
    return {
        (r.task, r.seed): best_so_far(r.curve, budget)
        for r in results
        if r.method == method and r.curve
    }


def convergence(
    path: Path, results: Sequence[CellResult], tasks: Sequence[str], methods: Sequence[str]
) -> Path:
    plt = _plt()
    panels = list(tasks) if len(tasks) <= MAX_PANELS else ["mean over tasks"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        for m in methods:
            curves = _curves(results, m)
            if panel in tasks:
                rows = [c for (t, _), c in curves.items() if t == panel]
            else:  # per seed, the mean over tasks
                seeds = sorted({s for _, s in curves})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    rows = [
                        np.nanmean([c for (_, s), c in curves.items() if s == seed], axis=0)
                        for seed in seeds
                    ]
            if not rows:
                continue
            y = np.vstack(rows)
            with warnings.catch_warnings():  # columns before the first round are all NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, sd = np.nanmean(y, axis=0), np.nanstd(y, axis=0)
            x = np.arange(1, y.shape[1] + 1)
            ax.plot(x, mean, label=m)
            ax.fill_between(x, mean - sd, mean + sd, alpha=0.2)
        ax.set_title(panel)
        ax.set_xlabel("evaluations")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("best-so-far robust value (dev)")
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def group_heatmap(
    path: Path, results: Sequence[CellResult], task: str, methods: Sequence[str]
) -> Path:
    plt = _plt()
    groups = list(results[0].best["groups"])
    grid = np.full((len(methods), len(groups)), np.nan)
    for i, m in enumerate(methods):
        rows = [r.best["test"]["per_group"] for r in results if r.method == m]
        for j, g in enumerate(groups):
            v = [row[g] for row in rows if row.get(g) is not None]
            if v:
                grid[i, j] = 100 * float(np.mean(v))
    fig, ax = plt.subplots(figsize=(1.3 * len(groups) + 2.5, 0.5 * len(methods) + 1.8))
    image = ax.imshow(grid, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    ax.set_yticks(range(len(methods)), methods)
    for i in range(len(methods)):
        for j in range(len(groups)):
            if not np.isnan(grid[i, j]):
                color = "white" if grid[i, j] < 50 else "black"
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", color=color)
    ax.set_title(f"{task}: test accuracy per group (%)")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
