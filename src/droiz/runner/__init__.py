"""The runner: ``droiz evaluate`` and ``droiz optimize`` (study, journal, resume, reports).

- :func:`evaluate` scores one instruction on a task's groups with a black-box LLM;
- :func:`optimize` runs the robust BO loop (engine ask → generator → executor → engine tell),
  journaling every evaluation, and writes a run directory; ``resume=True`` continues it;
- :func:`replay` rebuilds a finished run's ``best.json`` from its journal, without LLM requests.

The package follows a run's data flow: ``settings/`` (the settings schema, config files, resume
rules) → ``problem.py`` and ``plan.py`` (the groups, the bounds) → ``loop/`` (the round loop) →
``store/`` (the run directory, journal and engine state) → ``outputs/`` (``best.json``, the
report) → ``tracking/``. See ``docs/runner.md``.

Names are imported lazily, so that ``droiz.runner.settings`` (and the CLI) loads no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CapReached": "droiz.runner.loop.guards",
    "EvaluationResult": "droiz.runner.evaluation",
    "Journal": "droiz.runner.store.journal",
    "JournalError": "droiz.runner.store.journal",
    "MlflowTracker": "droiz.runner.tracking.mlflow_tracker",
    "OptimizeResult": "droiz.runner.outputs.result",
    "Progress": "droiz.runner.loop.hooks",
    "RoundSummary": "droiz.runner.outputs.summary",
    "RunBest": "droiz.runner.outputs.best",
    "RunConfig": "droiz.runner.settings.config",
    "RunInterrupted": "droiz.runner.loop.guards",
    "RunPlan": "droiz.runner.plan",
    "Study": "droiz.runner.loop.study",
    "Tracker": "droiz.runner.tracking.hooks",
    "dry_run": "droiz.runner.api",
    "evaluate": "droiz.runner.evaluation",
    "load_config_file": "droiz.runner.settings.files",
    "load_journal": "droiz.runner.store.journal",
    "optimize": "droiz.runner.api",
    "parse_reference": "droiz.runner.settings.checks",
    "read_journal": "droiz.runner.store.journal",
    "replay": "droiz.runner.outputs.replay",
    "resolve_config": "droiz.runner.settings.files",
    "resume_config": "droiz.runner.settings.resume",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'droiz.runner' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
