"""The runner: ``droiz evaluate`` and ``droiz optimize`` (study, journal, resume, reports).

- :func:`evaluate` scores one instruction on a task's groups with a black-box LLM;
- :func:`optimize` runs the robust BO loop (engine ask → generator → executor → engine tell),
  journaling every evaluation, and writes a run directory; ``resume=True`` continues it;
- :func:`replay` rebuilds a finished run's ``best.json`` from its journal, without LLM requests.

See ``docs/runner.md``.
"""

from __future__ import annotations

from droiz.runner.api import dry_run, optimize, resume_config
from droiz.runner.config import RunConfig, load_config_file, parse_reference, resolve_config
from droiz.runner.evaluate import EvaluationResult, evaluate
from droiz.runner.journal import Journal, JournalError, load_journal, read_journal
from droiz.runner.plan import RunPlan
from droiz.runner.restore import replay
from droiz.runner.results import OptimizeResult, RoundSummary
from droiz.runner.study import CapReached, Progress, RunInterrupted, Study

__all__ = [
    "CapReached",
    "EvaluationResult",
    "Journal",
    "JournalError",
    "OptimizeResult",
    "Progress",
    "RoundSummary",
    "RunConfig",
    "RunInterrupted",
    "RunPlan",
    "Study",
    "dry_run",
    "evaluate",
    "load_config_file",
    "load_journal",
    "optimize",
    "parse_reference",
    "read_journal",
    "replay",
    "resolve_config",
    "resume_config",
]
