"""``droiz bench grid``: the (task, method, seed) grid of ordinary ``droiz optimize`` runs.

Each cell is a run directory ``OUT/cells/TASK/METHOD/seed-N`` written by :func:`droiz.optimize`,
so ``droiz report``, ``droiz resume`` and ``droiz runs list`` work on it as on any run. Every cell
shares one response cache (``OUT/cache`` unless ``cache_dir`` says otherwise; SQLite in WAL mode,
safe for concurrent writers). The grid is resumable: a finished cell (its journal ends with an
``end`` record and ``best.json`` exists) is skipped, a started one is resumed from its journal, so
no request of a journaled evaluation is sent again. ``OUT/grid.json`` holds the grid's settings.
A rerun may change the axes (more seeds, tasks or methods add cells; finished ones are reused),
but a task's cells must keep their settings: a rerun that changes them is refused. A grid holds
the run lock of ``OUT`` (``OUT/run.lock``, as a run holds its directory's) while it runs, so a
second grid command on the same ``OUT`` is refused before it starts a cell.

The cells run on a backend of :mod:`droiz.bench.grid_backends` (a local process pool or Ray);
:func:`droiz.bench.grid_api.run_grid` ties the parts together.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError, DroizError
from droiz.registry import unknown_name_message
from droiz.validate import MAX_SEEDS, MAX_WORKERS, check_count

MANIFEST_NAME = "grid.json"
CELLS_DIR = "cells"
CACHE_DIR = "cache"
PER_TASK = "per_task"
AXIS_FLAGS = {"task": "--tasks", "method": "--methods", "seed": "--seeds (seeds 0..N-1)"}
"""The settings that are the grid's axes, and the flags that give them."""
CELL_SETTINGS = "cell_settings"
GRID_VERSION = 1
FINISHED, SKIPPED, FAILED, CAPPED, LOST = "finished", "skipped", "failed", "stopped at cap", "lost"


@dataclass(frozen=True)
class Cell:
    """One (task, method, seed) run of the grid; picklable, so it can travel to a worker.

    Attributes:
        task: The task name or file, as given. slug: Its directory name. method, seed: The run's.
        run_dir: The cell's run directory. settings: The keyword arguments of
            :func:`droiz.optimize` other than ``task``, ``method``, ``seed`` and ``out``.
        config: The ``--config`` file's settings (applied under ``settings``).
        plugins: Modules to import first (``--plugin``).
    """

    task: str
    slug: str
    method: str
    seed: int
    run_dir: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.slug}/{self.method}/seed-{self.seed}"

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the cell's :func:`droiz.optimize` call."""
        return {"task": self.task, "method": self.method, "seed": self.seed, **self.settings}


@dataclass(frozen=True)
class CellOutcome:
    """What running a cell came to: ``status`` is finished, skipped (already finished), failed,
    stopped at cap or lost (its worker died, retries used up); ``message`` says why."""

    name: str
    status: str
    message: str = ""
    seconds: float = 0.0
    resumed: bool = False


def task_slug(task: str) -> str:
    """The directory name of a task: a file's stem, a built-in name with ``/`` spelled ``-``."""
    from droiz.tasks.custom import is_task_file

    return Path(task).stem if is_task_file(task) else task.replace("/", "-")


def check_tasks(spec: str) -> list[str]:
    """``--tasks``: comma-separated built-in names or task files, or ``all`` (every built-in)."""
    from droiz.tasks.catalog import get_spec, list_tasks
    from droiz.tasks.custom import is_task_file

    if spec.strip() == "all":
        return list_tasks()
    tasks = [t.strip() for t in spec.split(",") if t.strip()]
    if not tasks:
        raise ConfigError("--tasks is empty; give task names or files (a,b,c) or all")
    for task in tasks:
        if is_task_file(task):
            if not Path(task).is_file():
                raise ConfigError(f"--tasks: the task file {task!r} does not exist")
        else:
            try:
                get_spec(task)
            except DroizError as exc:
                raise ConfigError(f"--tasks: {exc}") from None
    slugs = [task_slug(t) for t in tasks]
    repeated = sorted({s for s in slugs if slugs.count(s) > 1})
    if repeated:
        raise ConfigError(f"--tasks names {repeated[0]!r} twice (tasks or files with one name)")
    return tasks


def check_methods(spec: str) -> list[str]:
    """``--methods``: comma-separated names of registered methods, no repeats."""
    from droiz.optim import METHODS

    methods = [m.strip() for m in spec.split(",") if m.strip()]
    if not methods or len(set(methods)) != len(methods):
        raise ConfigError(f"--methods needs distinct method names, got {spec!r}")
    for method in methods:
        if method not in METHODS:
            raise ConfigError("--methods: " + unknown_name_message("method", method, METHODS))
    return methods


def check_workers(workers: int) -> None:
    check_count("--workers", workers, 1, MAX_WORKERS)


def check_tie_margin(margin: float) -> None:
    if not isinstance(margin, int | float) or not 0 <= margin <= 100:
        raise ConfigError(f"--tie-margin must be a number of points in [0, 100], got {margin!r}")


def split_per_task(
    config: Mapping[str, Any],
    tasks: Sequence[str],
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A grid config's shared settings and its ``per_task`` tables (then ``extra``'s, which win),
    keyed by the task as given.

    ``per_task`` maps a task (its name as given in ``--tasks``, or its directory name) to
    settings of that task's cells only; they override the shared ones, and explicit settings
    (command-line flags) override both. Unknown tasks or settings raise with a "did you mean".
    """
    from droiz.runner.settings.files import normalise_keys

    shared = dict(config)
    tables = shared.pop(PER_TASK, None) or {}
    axes = sorted(set(normalise_keys(shared)) & set(AXIS_FLAGS))
    if axes:
        raise ConfigError(
            f"the config sets {axes[0]!r}, a grid axis: give it with {AXIS_FLAGS[axes[0]]}"
        )
    if not isinstance(tables, Mapping):
        raise ConfigError(f"the config's {PER_TASK} must be a table of task -> settings")
    by_name = {t: t for t in tasks} | {task_slug(t): t for t in tasks}
    per_task: dict[str, dict[str, Any]] = {}
    for key, table in [*tables.items(), *(extra or {}).items()]:
        task = by_name.get(str(key))
        if task is None:
            raise ConfigError(
                f"{PER_TASK}: " + unknown_name_message("task of --tasks", str(key), by_name)
            )
        if not isinstance(table, Mapping):
            raise ConfigError(f"{PER_TASK}.{key} must be a table of settings, got {table!r}")
        values = normalise_keys(table)
        axes = sorted(set(values) & {"task", "method", "seed"})
        if axes:
            raise ConfigError(f"{PER_TASK}.{key} cannot set {axes[0]!r}: it is a grid axis")
        per_task[task] = {**per_task.get(task, {}), **values}
    return normalise_keys(shared), per_task


def plan_cells(
    out: Path,
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    settings: Mapping[str, Any],
    config: Mapping[str, Any],
    plugins: Sequence[str] = (),
    per_task: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Cell]:
    """Every cell of the grid, task-major; ``cache_dir`` defaults to ``out/cache``; a task's
    ``per_task`` settings are applied over ``config`` in its cells."""
    check_count("--seeds", seeds, 1, MAX_SEEDS)
    given = {k: v for k, v in settings.items() if v is not None}
    if given.get("cache_dir") is None and config.get("cache_dir") is None:
        given["cache_dir"] = str(out / CACHE_DIR)
    cells = []
    for task in tasks:
        slug = task_slug(task)
        task_config = {**config, **(per_task or {}).get(task, {})}
        for method in methods:
            for seed in range(seeds):
                run_dir = out / CELLS_DIR / slug / method / f"seed-{seed}"
                cells.append(
                    Cell(task, slug, method, seed, str(run_dir), given, task_config, tuple(plugins))
                )
    return cells


def manifest(
    cells: Sequence[Cell],
    tasks: Sequence[str],
    methods: Sequence[str],
    per_task: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The grid's settings: its axes, each method's four axes (``axes``: acquisition, group
    rule, reference update, final pick, as the first task's cells run it), the resolved
    settings of its cells (``None`` where the tasks' cells differ: set per task) and the
    ``per_task`` tables, if any. Checked here: bad settings raise before anything runs."""
    from droiz.runner.backends import check_backends
    from droiz.runner.loop.engine_io import run_axes
    from droiz.runner.problem import check_problem
    from droiz.runner.settings.files import resolve_config

    by_task: dict[str, dict[str, Any]] = {}
    method_axes: dict[str, dict[str, str]] = {}
    for cell in cells:  # validates every cell (cheap: no model, no request)
        resolved = resolve_config(cell.kwargs(), cell.config)
        method_axes.setdefault(cell.method, run_axes(resolved))  # the first task's cells
        if cell.task not in by_task:  # task files, pools, model names, prices: once per task
            check_problem(resolved)
            check_backends(resolved)
            axes = ("task", "method", "seed")
            by_task[cell.task] = {k: v for k, v in resolved.to_dict().items() if k not in axes}
    first, *rest = by_task.values()
    shared = {k: (v if all(o.get(k) == v for o in rest) else None) for k, v in first.items()}
    saved = {
        "version": GRID_VERSION,
        "tasks": list(tasks),
        "methods": list(methods),
        "seeds": sorted({c.seed for c in cells}),
        "axes": method_axes,
        "settings": shared,
        "plugins": list(cells[0].plugins),
        CELL_SETTINGS: by_task,
    }
    if per_task:
        saved[PER_TASK] = {t: dict(v) for t, v in per_task.items()}
    return saved


def check_manifest(out: Path, new: Mapping[str, Any], *, write: bool = True) -> None:
    """Write ``out/grid.json`` (unless ``write`` is false), or check that the grid already
    there has the same settings (the location settings of ``droiz resume`` may change)."""
    from droiz.runner.settings.config import RESUMABLE
    from droiz.runner.store.atomic import write_json
    from droiz.runner.store.rundir import RunDir

    path = out / MANIFEST_NAME
    if not path.exists():
        ours = (MANIFEST_NAME, RunDir.LOCK)
        stray = out.exists() and any(p.name not in ours for p in out.iterdir())
        if stray and not (out / CELLS_DIR).is_dir():
            raise ConfigError(f"--out {str(out)!r} is not empty and holds no droiz grid")
        if write:
            out.mkdir(parents=True, exist_ok=True)
            write_json(path, dict(new))
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the grid settings {str(path)!r}: {exc}") from None

    def changed(old: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
        keys = sorted(set(old) | set(now))
        return [k for k in keys if k not in RESUMABLE and old.get(k) != now.get(k)]

    differ: dict[str, Any] = {}  # what differs -> its saved value, in order
    if CELL_SETTINGS in saved:  # the axes may change; each task's cells keep their settings
        old_cells, new_cells = saved[CELL_SETTINGS], new[CELL_SETTINGS]
        if saved.get("plugins") != new.get("plugins"):
            differ["plugins"] = saved.get("plugins")
        for task in [t for t in new_cells if t in old_cells]:
            for k in changed(old_cells[task], new_cells[task]):
                differ.setdefault(k, old_cells[task].get(k))
    else:  # a grid.json of droiz before cell_settings: the same axes and settings only
        old = saved.get("settings", {})
        axes = ("tasks", "methods", "seeds", "plugins", PER_TASK)
        differ = {k: saved.get(k) for k in axes if saved.get(k) != new.get(k)}
        differ |= {k: old.get(k) for k in changed(old, new["settings"])}
    if differ:
        detail = ", ".join(f"{k}: saved {v!r}" for k, v in list(differ.items())[:4]) + (
            ", ..." if len(differ) > 4 else ""
        )
        raise ConfigError(
            f"--out {str(out)!r} holds a grid with other settings ({detail}); rerun with the same "
            "settings to resume or extend it, or choose another --out"
        )
    if write and saved != dict(new):  # more (or fewer) seeds, tasks or methods: the new axes
        write_json(path, dict(new))


def cell_state(run_dir: Path) -> str:
    """``finished`` (an ``end`` record and ``best.json``), ``started`` or ``new``."""
    from droiz.runner.store.rundir import RunDir
    from droiz.runner.store.runs import run_info

    if not RunDir(run_dir).holds_run():
        return "new"
    info = run_info(run_dir)
    return (
        "finished"
        if info.status == "finished" and (run_dir / "best.json").is_file()
        else ("started")
    )


def run_cell(cell: Cell, track: str | None = None) -> CellOutcome:
    """Run, resume or skip one cell (in a worker process); never raises for a failed run."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from droiz.registry import load_plugins
    from droiz.runner import CapReached, optimize

    torch.set_num_threads(1)
    start = time.perf_counter()
    run_dir = Path(cell.run_dir)
    state = cell_state(run_dir)
    if state == "finished":
        return CellOutcome(cell.name, SKIPPED)
    extra: dict[str, Any] = {} if track is None else {"track": track}
    try:
        load_plugins(cell.plugins)
        optimize(
            out=run_dir,
            config=dict(cell.config),
            resume=state == "started",
            **cell.kwargs(),
            **extra,
        )
    except CapReached as exc:
        return CellOutcome(cell.name, CAPPED, str(exc), time.perf_counter() - start)
    except (DroizError, OSError) as exc:
        return CellOutcome(cell.name, FAILED, str(exc), time.perf_counter() - start)
    except KeyboardInterrupt as exc:  # SIGTERM/SIGINT of the worker: the journal has an abort
        return CellOutcome(cell.name, FAILED, f"interrupted ({type(exc).__name__})")
    return CellOutcome(cell.name, FINISHED, "", time.perf_counter() - start, state == "started")
