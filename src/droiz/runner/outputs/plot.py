"""``best_so_far.png``: the robust value of the pick, and the best so far, against evaluations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from droiz.runner.outputs.summary import RoundSummary


def plot_progress(path: Path, rounds: Sequence[RoundSummary]) -> Path:
    """Best-so-far robust value of the pick against evaluations (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [s.n_evaluations for s in rounds]
    y = [s.robust_value for s in rounds]
    best = [max(y[: i + 1]) for i in range(len(y))]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(x, y, "o--", alpha=0.5, label="robust value of the current pick")
    ax.step(x, best, where="post", label="best so far")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("robust value")
    ax.set_title("droiz optimize")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
