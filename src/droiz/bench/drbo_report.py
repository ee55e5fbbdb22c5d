"""The table, the flattening check and the plot of ``droiz bench drbo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TITLES = {"dro-ucb": "DRO-UCB", "gp-ucb": "GP-UCB", "wcs": "WCS"}
SET_TITLES = {"kl": "KL", "tv": "TV", "chi2": "chi-square", "w1": "W1"}


def _at(summary: dict[str, Any], t: int) -> str:
    mean, se = summary["cum_regret_mean"][t - 1], summary["cum_regret_se"][t - 1]
    return f"{mean:7.2f} ± {se:5.2f}"


def window(steps: int) -> int:
    """Length of the final window the flattening check compares: 100 steps (or half of T)."""
    return 100 if steps >= 200 else max(1, steps // 2)


def added(summary: dict[str, Any], steps: int) -> float:
    """Mean robust regret added over the last :func:`window` steps."""
    cum = summary["cum_regret_mean"]
    w = window(steps)
    regret: float = cum[steps - 1] - (cum[steps - w - 1] if steps > w else 0.0)
    return regret


def format_table(payload: dict[str, Any], radii: dict[str, float]) -> str:
    """Cumulative robust regret (mean ± s.e. over seeds) at T = 100 and the final T, per set."""
    steps, n_seeds = len(payload["T"]), len(payload["seeds"])
    marks = sorted({t for t in (100, steps) if t <= steps})
    w = window(steps)
    head = "".join(f"{'R(' + str(t) + ')':>17s}" for t in marks)
    cols = f"{'set':11s} {'radius':>9s} {'method':8s}{head} {f'last {w}':>9s} {'ask ms':>8s}"
    lines = [
        f"DRBO reproduction (synthetic, no LLM): cumulative robust regret, mean ± s.e. over "
        f"{n_seeds} seed(s), T = {steps} steps after 10 initial points; 'last {w}' is the regret "
        f"added over the last {w} steps; ask ms is the acquisition time per step",
        "",
        cols,
        "-" * len(cols),
    ]
    for name, by_method in payload["sets"].items():
        for method, summary in by_method.items():
            label = f"{SET_TITLES[name]:11s} {radii[name]:9.3f} {TITLES[method]:8s}"
            if summary is None:
                lines.append(f"{label}{'n/a':>17s}")
                continue
            cells = "".join(f"{_at(summary, t):>17s}" for t in marks)
            ms = 1000 * summary["ask_seconds"]
            lines.append(f"{label}{cells} {added(summary, steps):9.2f} {ms:8.2f}")
    return "\n".join([*lines, "", *flattening_lines(payload)])


def flattening(payload: dict[str, Any]) -> dict[str, bool]:
    """Per set: does DRO-UCB add less regret than GP-UCB over the last window?"""
    steps = len(payload["T"])
    return {
        name: added(m["dro-ucb"], steps) < added(m["gp-ucb"], steps)
        for name, m in payload["sets"].items()
    }


def flattening_lines(payload: dict[str, Any]) -> list[str]:
    steps = len(payload["T"])
    w = window(steps)
    lines = []
    for name, ok in flattening(payload).items():
        m = payload["sets"][name]
        dro, ucb = added(m["dro-ucb"], steps), added(m["gp-ucb"], steps)
        verdict = (
            "DRO-UCB flattens where GP-UCB keeps growing"
            if ok
            else "NOT shown: DRO-UCB adds at least as much as GP-UCB"
        )
        lines.append(
            f"{SET_TITLES[name]}: last {w} steps add {dro:.2f} (DRO-UCB) vs {ucb:.2f} (GP-UCB): "
            f"{verdict}"
        )
    return lines


def plot(path: Path, payload: dict[str, Any]) -> Path:
    """Cumulative robust regret against T, one panel per set, mean ± s.e. bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(payload["sets"])
    cols = min(2, len(sets))
    rows = (len(sets) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    t = payload["T"]
    for ax, name in zip(axes.flat, sets, strict=False):
        for method, summary in payload["sets"][name].items():
            if summary is None:
                continue
            mean, se = summary["cum_regret_mean"], summary["cum_regret_se"]
            lo = [m - s for m, s in zip(mean, se, strict=True)]
            hi = [m + s for m, s in zip(mean, se, strict=True)]
            ax.plot(t, mean, label=TITLES[method])
            ax.fill_between(t, lo, hi, alpha=0.25)
        ax.set_title(f"{SET_TITLES[name]} ball")
        ax.set_xlabel("T (steps after 10 initial points)")
        ax.set_ylabel("cumulative robust regret")
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(sets) :]:
        ax.set_visible(False)
    fig.suptitle(f"DRBO reproduction (synthetic), {len(payload['seeds'])} seeds, mean ± s.e.")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
