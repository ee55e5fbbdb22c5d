"""``droiz.bench.grid_api.run_grid``: plan, run (or resume) and report a grid (the Python entry
point of ``droiz bench grid``; see :mod:`droiz.bench.grid`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.bench.grid import (
    FINISHED,
    SKIPPED,
    CellOutcome,
    check_manifest,
    check_methods,
    check_tasks,
    check_tie_margin,
    check_workers,
    manifest,
    plan_cells,
)
from droiz.bench.grid_backends import check_backend, run_cells
from droiz.bench.grid_report import write_outputs
from droiz.validate import check_dir_path


@dataclass(frozen=True)
class GridResult:
    """The outcome of every cell (in grid order) and the report files written."""

    outcomes: list[CellOutcome]
    paths: list[Path]

    @property
    def unfinished(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if o.status not in (FINISHED, SKIPPED)]


def run_grid(
    out: str | os.PathLike[str],
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    *,
    config: Mapping[str, Any] | None = None,
    plugins: Sequence[str] = (),
    backend: str = "pool",
    workers: int = 2,
    ray_address: str | None = None,
    track: str | None = None,
    tie_margin: float = 1.0,
    on_done: Any = None,
    **settings: Any,
) -> GridResult:
    """Run (or resume) the grid in ``out`` and write its report.

    Args:
        tasks, methods: Names (checked, with a "did you mean"). seeds: Seeds ``0..seeds-1``.
        config: Settings of every cell under ``settings`` (a ``--config`` file's contents).
        backend, workers, ray_address: Where the cells run (:mod:`droiz.bench.grid_backends`).
        track: Forwarded to each cell's :func:`droiz.optimize` as ``track=`` when given.
        tie_margin: Points of accuracy within which two methods tie in the report.
        on_done: Called with each :class:`CellOutcome` as it arrives.
        **settings: :func:`droiz.optimize` settings of every cell (``generator``, ``executor``,
            ``budget``, ``base_url``, ``cache_dir``, ...).

    Raises:
        ConfigError: Bad settings, or ``out`` holds a grid with other settings.
    """
    root = check_dir_path(out, "--out")
    check_workers(workers)
    check_tie_margin(tie_margin)
    check_backend(backend)
    tasks, methods = check_tasks(",".join(tasks)), check_methods(",".join(methods))
    cells = plan_cells(root, tasks, methods, seeds, settings, dict(config or {}), plugins)
    saved = manifest(cells, tasks, methods)
    check_manifest(root, saved)
    if track == "mlflow":  # create a new sqlite store once: MLflow races when workers start
        from droiz.runner.mlflow_tracker import MlflowTracker

        MlflowTracker().prepare_store()
    outcomes = run_cells(
        cells, backend=backend, workers=workers, ray_address=ray_address, track=track,
        on_done=on_done,
    )  # fmt: skip
    return GridResult(outcomes, write_outputs(root, cells, outcomes, saved, tie_margin))
