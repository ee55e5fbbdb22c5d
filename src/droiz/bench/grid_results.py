"""The results of finished grid cells, read from their files (``best.json``, the journal), and
``results.csv``."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from droiz.axes import AXES
from droiz.bench.grid import Cell
from droiz.runner.store.runs import run_info

CSV_NAME = "results.csv"
CSV_FIELDS = (
    "task", "method", *AXES, "seed", "test_mean", "worst_group", "worst_group_name", "shifted",
    "dev_robust_value", "evaluations", "requests", "cost_usd", "instruction", "run_dir",
)  # fmt: skip


@dataclass(frozen=True)
class CellResult:
    """One finished cell: its ``best.json`` values and its best-so-far curve.

    Attributes:
        curve: ``(evaluations, robust value of the pick)`` after each round, from the journal.
        requests, cost: What the cell sent (all its sessions, retries included; answers from
            the shared cache are free) and its cost in USD (0 where the model has no price).
    """

    task: str
    method: str
    seed: int
    best: Mapping[str, Any]
    run_dir: str
    curve: Sequence[tuple[int, float]] = field(default_factory=list)
    requests: int = 0
    cost: float = 0.0
    axes: Mapping[str, str] = field(default_factory=dict)

    def metric(self, name: str) -> float:
        test = self.best["test"]
        return float({"test_mean": test["mean"]}.get(name, test.get(name)))


def read_cell(cell: Cell) -> CellResult | None:
    """The result of a finished cell: ``None`` without ``best.json``, or when it is not final (a
    cell stopped at a cap has a best-so-far ``best.json`` without a test evaluation)."""
    run_dir = Path(cell.run_dir)
    try:
        best = json.loads((run_dir / "best.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(best, dict) or not isinstance(best.get("test"), dict):
        return None
    curve = []
    for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        if '"type": "tell"' not in line:
            continue
        try:
            summary = json.loads(line)["summary"]
        except (ValueError, KeyError):
            continue
        curve.append((int(summary["n_evaluations"]), float(summary["robust_value"])))
    info = run_info(run_dir)
    return CellResult(
        cell.slug, cell.method, cell.seed, best, cell.run_dir, curve, info.requests, info.cost,
        _axes(run_dir),
    )  # fmt: skip


def _axes(run_dir: Path) -> dict[str, str]:
    """The four axes the cell ran with, from its ``config.json`` (empty when unreadable)."""
    from droiz.exceptions import DroizError
    from droiz.optim import EngineConfig

    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        return EngineConfig.from_dict(saved["resolved"]["engine"]).axes()
    except (OSError, ValueError, KeyError, TypeError, DroizError):
        return {}


def write_csv(path: Path, results: Sequence[CellResult]) -> Path:
    """One row per finished cell."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in results:
            test = r.best["test"]
            writer.writerow(
                {
                    "task": r.task,
                    "method": r.method,
                    **{k: r.axes.get(k, "") for k in AXES},
                    "seed": r.seed,
                    "test_mean": test["mean"],
                    "worst_group": test["worst_group"],
                    "worst_group_name": test["worst_group_name"],
                    "shifted": test["shifted"],
                    "dev_robust_value": r.best["robust_value"],
                    "evaluations": r.best["budget"],
                    "requests": r.requests,
                    "cost_usd": r.cost,
                    "instruction": r.best["instruction"],
                    "run_dir": r.run_dir,
                }
            )
    return path
