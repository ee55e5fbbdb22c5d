"""What a tracker logs, derived from the run directory alone (``config.json`` and the journal's
records), so that a resumed or re-logged run logs the same values as an uninterrupted one."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from droiz.runner.outputs.result import OptimizeResult
from droiz.runner.store.records import Record, Tell
from droiz.runner.store.usage import with_record

USAGE_METRICS = {"requests": "requests", "cache_hits": "cache_hits", "cost": "cost"}
"""Usage counters logged per round (cumulative over the run), by metric name."""

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
    usage: dict[str, float] = {}
    out = []
    for record in records:
        usage = with_record(usage, record)
        if isinstance(record, Tell):
            out.append((record, dict(usage)))
    return out


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


def _flatten(value: object, prefix: str, out: dict[str, str]) -> None:

    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", out)
        return
    key = metric_key(prefix.rstrip("."))
    out[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
