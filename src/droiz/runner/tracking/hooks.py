"""Experiment tracking of ``droiz optimize`` runs (``--track``, ``track=``).

A tracker is a set of run hooks (:class:`~droiz.runner.loop.hooks.RunHooks`) that
:class:`~droiz.runner.loop.study.Study` calls with a read-only view of the run
(:class:`~droiz.runner.loop.hooks.RunView`):

* ``on_start`` once the journal is open (before the first request), also on resume;
* ``on_round`` after each round's ``tell`` record is journaled;
* ``on_finish`` after ``best.json``, ``report.md`` and the plot are written;

and :func:`tracking` calls :meth:`Tracker.close` when the run ends, however it ends. Everything
a tracker logs is derived from the run directory (``config.json`` and the journal's records), so
that a resumed or re-logged run logs the same values as an uninterrupted one.

``--track mlflow`` uses :class:`~droiz.runner.tracking.mlflow_tracker.MlflowTracker` (the
``droiz[track]`` extra, imported lazily). The Python API also takes a tracker object
(``track=MlflowTracker(...)``, picklable, so a grid can hand one to each cell's process).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from droiz.runner.loop.hooks import RunHooks
from droiz.runner.store.rundir import RunDir


@runtime_checkable
class Tracker(RunHooks, Protocol):
    """Run hooks that log to an experiment tracker; :attr:`name` is the ``--track`` value."""

    @property
    def name(self) -> str:
        """The ``--track`` value."""

    def require(self) -> object:
        """Import what the tracker needs, before the run starts (raises
        :class:`~droiz.exceptions.MissingDependencyError`)."""

    def close(self, error: BaseException | None) -> None:
        """End the tracked run: finished (``error`` is ``None``), stopped or failed."""


@contextmanager
def tracking(tracker: Tracker | None) -> Iterator[None]:
    """Close ``tracker`` when the block ends, with the exception that ended it (if any)."""
    if tracker is None:
        yield
        return
    try:
        yield
    except BaseException as exc:
        tracker.close(exc)
        raise
    tracker.close(None)


def read_tracking(run_dir: Path) -> dict[str, Any]:
    """The run directory's ``tracking.json`` (``{}`` when there is none or it is unreadable)."""
    import json

    try:
        data = json.loads(RunDir(run_dir).tracking.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe(run_dir: Path) -> str | None:
    """Where the run in ``run_dir`` is tracked, as one line (``None`` when untracked)."""
    data = read_tracking(run_dir)
    if not data.get("run_id"):
        return None
    return (
        f"{data.get('tracker', 'mlflow')} run {data['run_id']} (experiment "
        f"{data.get('experiment_id')}) at {data.get('tracking_uri')}"
    )
