"""Experiment tracking of ``droiz optimize`` runs (``--track``, ``track=``).

A tracker is a set of run hooks (:class:`~droiz.runner.study.RunHooks`) that
:class:`~droiz.runner.study.Study` calls:

* ``on_start`` once the journal is open (before the first request), also on resume;
* ``on_round`` after each round's ``tell`` record is journaled;
* ``on_finish`` after ``best.json``, ``report.md`` and the plot are written;

and :func:`tracking` calls :meth:`Tracker.close` when the run ends, however it ends. Everything
a tracker logs is derived from the run directory (``config.json`` and the journal's records), so
that a resumed or re-logged run logs the same values as an uninterrupted one.

``--track mlflow`` uses :class:`~droiz.runner.mlflow_tracker.MlflowTracker` (the ``droiz[track]``
extra, imported lazily). The Python API also takes a tracker object (``track=MlflowTracker(...)``,
picklable, so a grid can hand one to each cell's process).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from droiz.runner.study import RunHooks

if TYPE_CHECKING:
    from droiz.runner.records import Record, Tell
    from droiz.runner.results import OptimizeResult

TRACKING_NAME = "tracking.json"
"""The run directory's record of where the run is tracked (tracker, run id, masked URI)."""

USAGE_METRICS = {"requests": "requests", "cache_hits": "cache_hits", "cost": "cost"}
"""Usage counters logged per round (cumulative over the run), by metric name."""


@runtime_checkable
class Tracker(RunHooks, Protocol):
    """Run hooks that log to an experiment tracker; :attr:`name` is the ``--track`` value."""

    name: str

    def require(self) -> Any:
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


# ------------------------------------------------------------------ values
_BAD_KEY = re.compile(r"[^\w.\- :/]")


def metric_key(name: str) -> str:
    """``name`` with the characters tracking stores refuse in keys replaced by ``_``."""
    return _BAD_KEY.sub("_", name)[:250]


def round_metrics(
    tell: Tell, usage: Mapping[str, float], groups: Sequence[str]
) -> dict[str, float]:
    """The metrics of one round: the pick's robust value, the reference and worst-case weights
    by group, the evaluations, and the run's cumulative ``usage`` after the round."""
    summary = tell.summary
    out = {
        "best_robust_value": float(summary["robust_value"]),
        "best_value": float(summary["value"]),
        "evaluations": float(summary["n_evaluations"]),
    }
    for name, w_ref, w_worst in zip(groups, summary["reference"], summary["weights"], strict=True):
        out[metric_key(f"reference_weight/{name}")] = float(w_ref)
        out[metric_key(f"worst_case_weight/{name}")] = float(w_worst)
    for metric, counter in USAGE_METRICS.items():
        if counter in usage:
            out[metric] = float(usage[counter])
    out["tokens"] = float(usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
    return out


def journal_rounds(records: Sequence[Record]) -> list[tuple[Tell, dict[str, float]]]:
    """Every ``tell`` record of a journal with the run's cumulative usage after it (the sum of
    the ``stats`` of every record up to it: rounds, aborted steps, caps)."""
    from droiz.runner.records import Tell

    usage: dict[str, float] = {}
    out = []
    for record in records:
        add_stats(usage, record)
        if isinstance(record, Tell):
            out.append((record, dict(usage)))
    return out


def add_stats(usage: dict[str, float], record: Record) -> None:
    """Add a record's usage ``stats`` (if it has any) to the running totals ``usage``."""
    stats = getattr(record, "stats", None)
    if isinstance(stats, dict):
        for key, value in stats.items():
            if isinstance(value, int | float):
                usage[key] = usage.get(key, 0) + value


def final_metrics(result: OptimizeResult) -> dict[str, float]:
    """The metrics of a finished run: the pick's robust value, its test accuracy (mean, worst
    group, shifted mixture, per group) and the whole run's usage."""
    test = result.test
    out = {
        "final/robust_value": float(result.robust_value),
        "test/mean": float(test.mean),
        "test/worst_group": float(test.worst_group),
        "test/shifted": float(test.shifted),
    }
    for name, value in test.per_group.items():
        out[metric_key(f"test/group/{name}")] = float(value)
    stats = result.stats
    for metric, counter in USAGE_METRICS.items():
        if counter in stats:
            out[f"total/{metric}"] = float(stats[counter])
    out["total/tokens"] = float(stats.get("prompt_tokens", 0) + stats.get("completion_tokens", 0))
    return out


def flat_params(saved: Mapping[str, Any]) -> dict[str, str]:
    """The resolved config (``config.json``) as string parameters: the settings by name
    (``engine.eta``), what they resolved to under ``resolved.`` and ``droiz_version``. Strings
    stay as they are, other values are JSON (``null``, ``30``, ``[0.5, 0.5]``)."""
    out: dict[str, str] = {"droiz_version": str(saved.get("droiz_version", ""))}
    _flatten(saved.get("settings", {}), "", out)
    _flatten(saved.get("resolved", {}), "resolved.", out)
    return out


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    import json

    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", out)
        return
    key = metric_key(prefix.rstrip("."))
    out[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def read_tracking(run_dir: Path) -> dict[str, Any]:
    """The run directory's ``tracking.json`` (``{}`` when there is none or it is unreadable)."""
    import json

    try:
        data = json.loads((Path(run_dir) / TRACKING_NAME).read_text(encoding="utf-8"))
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
