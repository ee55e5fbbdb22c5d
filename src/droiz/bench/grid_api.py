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
    Cell,
    CellOutcome,
    cell_state,
    check_manifest,
    check_methods,
    check_tasks,
    check_tie_margin,
    check_workers,
    manifest,
    plan_cells,
    split_per_task,
)
from droiz.bench.grid_backends import OnDone, check_backend, check_ray_address, run_cells
from droiz.bench.grid_report import write_outputs
from droiz.runner.plan import RunPlan
from droiz.runner.store.rundir import RunDir
from droiz.validate import check_dir_path


@dataclass(frozen=True)
class GridResult:
    """The outcome of every cell (in grid order) and the report files written."""

    outcomes: list[CellOutcome]
    paths: list[Path]

    @property
    def unfinished(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if o.status not in (FINISHED, SKIPPED)]


def _plan(
    out: str | os.PathLike[str],
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    config: Mapping[str, Any] | None,
    per_task: Mapping[str, Mapping[str, Any]] | None,
    plugins: Sequence[str],
    settings: Mapping[str, Any],
    *,
    write: bool,
) -> tuple[Path, list[Cell], dict[str, Any]]:
    """The grid's directory, cells and manifest, checked against a saved ``grid.json``."""
    root = check_dir_path(out, "--out")
    tasks, methods = check_tasks(",".join(tasks)), check_methods(",".join(methods))
    shared, tables = split_per_task(config or {}, tasks, per_task)
    cells = plan_cells(root, tasks, methods, seeds, settings, shared, plugins, tables)
    saved = manifest(cells, tasks, methods, tables)
    check_manifest(root, saved, write=write)
    return root, cells, saved


def plan_grid(
    out: str | os.PathLike[str],
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    *,
    config: Mapping[str, Any] | None = None,
    per_task: Mapping[str, Mapping[str, Any]] | None = None,
    plugins: Sequence[str] = (),
    **settings: Any,
) -> list[tuple[Cell, RunPlan]]:
    """The dry run of :func:`run_grid`: each unfinished cell with the upper bounds of what it
    still sends (:func:`droiz.runner.dry_run`, less what the shared cache and its journal
    hold). Sends nothing, loads no model, writes nothing. Each cell is bounded alone: cells
    that share prompts (one seed's initial design) send less than the sum."""
    from droiz.runner.api import dry_run

    _root, cells, _saved = _plan(
        out, tasks, methods, seeds, config, per_task, plugins, settings, write=False
    )
    plans = []
    for cell in cells:
        state = cell_state(Path(cell.run_dir))
        if state == "finished":
            continue
        plan = dry_run(
            out=cell.run_dir, config=dict(cell.config), resume=state == "started", **cell.kwargs()
        )
        plans.append((cell, plan))
    return plans


def run_grid(
    out: str | os.PathLike[str],
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    *,
    config: Mapping[str, Any] | None = None,
    per_task: Mapping[str, Mapping[str, Any]] | None = None,
    plugins: Sequence[str] = (),
    backend: str = "pool",
    workers: int = 2,
    ray_address: str | None = None,
    track: str | None = None,
    tie_margin: float = 1.0,
    on_done: OnDone | None = None,
    **settings: Any,
) -> GridResult:
    """Run (or resume) the grid in ``out`` and write its report.

    Args:
        tasks, methods: Names (checked, with a "did you mean"). seeds: Seeds ``0..seeds-1``.
        config: Settings of every cell under ``settings`` (a ``--config`` file's contents); its
            ``per_task`` table, if any, is read as ``per_task``.
        per_task: Task -> settings of that task's cells (over ``config``, under ``settings``),
            e.g. ``{"larger_animal": {"answer_filter": "chat-answer"}}``.
        backend, workers, ray_address: Where the cells run (:mod:`droiz.bench.grid_backends`).
        track: Forwarded to each cell's :func:`droiz.optimize` as ``track=`` when given.
        tie_margin: Points of accuracy within which two methods tie in the report.
        on_done: Called with each :class:`CellOutcome` as it arrives.
        **settings: :func:`droiz.optimize` settings of every cell (``generator``, ``executor``,
            ``budget``, ``base_url``, ``cache_dir``, ...).

    Raises:
        ConfigError: Bad settings, ``out`` holds a grid with other settings, or another process
            runs a grid in ``out`` (the grid holds the run lock of ``out`` while it runs).
    """
    check_workers(workers)
    check_tie_margin(tie_margin)
    check_backend(backend)
    root, cells, saved = _plan(
        out, tasks, methods, seeds, config, per_task, plugins, settings, write=False
    )
    check_ray_address(backend, ray_address)  # after the local checks: it probes the network
    with RunDir(root).lock():  # one grid command per --out at a time, as one process per run
        check_manifest(root, saved)  # again, under the lock: another grid may have written it
        if track == "mlflow":  # create a new sqlite store once: MLflow races when workers start
            from droiz.runner.tracking.mlflow_tracker import MlflowTracker

            MlflowTracker().prepare_store()
        outcomes = run_cells(
            cells, backend=backend, workers=workers, ray_address=ray_address, track=track,
            on_done=on_done,
        )  # fmt: skip
        return GridResult(outcomes, write_outputs(root, cells, outcomes, saved, tie_margin))
