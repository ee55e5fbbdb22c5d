"""The runs under a directory and where each stands (``droiz runs list``), read from their files.

Nothing here loads a model, sends a request or writes a file. A run's status comes from its lock
and its journal:

- ``running``: another process holds the run's lock (``run.lock``, see
  :class:`~droiz.runner.store.rundir.RunDir`);
- ``finished``: the journal has an ``end`` record;
- ``stopped at cap``: the last session ended with a ``cap`` record (resume with a higher cap);
- ``aborted``: the last session ended with an ``abort`` record (a backend failure, Ctrl-C or
  SIGTERM; resume it);
- ``crashed``: the last session ended without a record (killed, or the machine went down;
  resume it);
- ``unreadable``: the journal or ``config.json`` cannot be read (the reason is in ``detail``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from droiz.exceptions import DataError
from droiz.llm.ledger import LedgerError, read_ledger
from droiz.runner.store.journal import load_journal
from droiz.runner.store.records import Abort, Cap, End, Eval, Record, Resume, Start, Tell, Verify
from droiz.runner.store.rundir import RunDir
from droiz.runner.store.usage import spent, with_record


@dataclass(frozen=True)
class RunInfo:
    """Where one run stands.

    Attributes:
        path: The run directory. status: See the module docstring.
        evaluations: Evaluations journaled. budget: The run's ``--budget`` (``None``: unknown).
        requests: HTTP requests sent so far (all sessions, retries included). cost: USD so far.
        best: The best robust value so far: the verified one of a finished run, else the
            engine's estimate after the last finished round (``None`` before it).
        detail: The abort or cap message, or why the run is unreadable, and a torn last line of
            the journal (``""`` otherwise).
    """

    path: Path
    status: str
    evaluations: int = 0
    budget: int | None = None
    requests: int = 0
    cost: float = 0.0
    best: float | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"path": str(self.path)}


def run_info(run_dir: str | Path) -> RunInfo:
    """Where the run in ``run_dir`` stands (never raises for a damaged run: ``unreadable``)."""
    run = RunDir(run_dir)
    running = run.is_locked()
    if not run.journal.exists() and run.config.is_file():
        # stopped between writing config.json and the first journal record
        return RunInfo(run.path, "running" if running else "crashed", budget=_saved_budget(run))
    try:
        contents = load_journal(run.journal)
    except (DataError, OSError) as exc:
        return RunInfo(run.path, "running" if running else "unreadable", detail=str(exc))
    records = contents.records
    stats: dict[str, float] = {}
    seen: dict[str, float] = {}
    evaluations: set[int] = set()
    budget = _saved_budget(run)
    best: float | None = None
    last: Record | None = None
    for rec in records:
        stats = with_record(stats, rec)
        if isinstance(rec, Start):
            budget = rec.settings.get("budget", budget)
        elif isinstance(rec, Eval) and not isinstance(rec, Verify):
            evaluations.add(rec.index)
            seen = rec.budget or seen
        elif isinstance(rec, Tell):
            best = rec.summary.get("robust_value", best)
        if isinstance(rec, Start | Resume | Abort | Cap | End):
            last = rec
    status, detail = _status(last, running)
    if contents.torn:
        torn = f"a torn last line ({contents.torn} bytes) is dropped"
        detail = f"{detail}; {torn}" if detail else torn
    if status == "finished":
        best = _best_value(run, best)
    try:
        reading = read_ledger(run.ledger)
        ledger = reading.spent if reading is not None else None
    except LedgerError as exc:  # counted from the journal; the detail says so
        ledger, detail = None, f"{detail}; {exc}" if detail else str(exc)
    requests, _, cost = spent(stats, seen, ledger)
    return RunInfo(run.path, status, len(evaluations), budget, requests, cost, best, detail)


def _status(last: Record | None, running: bool) -> tuple[str, str]:
    if running:
        return "running", ""
    if isinstance(last, End):
        return "finished", ""
    if isinstance(last, Cap):
        return "stopped at cap", last.error
    if isinstance(last, Abort):
        return "aborted", last.error
    return "crashed", ""


def _saved_budget(run: RunDir) -> int | None:
    try:
        saved = json.loads(run.config.read_text(encoding="utf-8"))
        return int(saved["settings"]["budget"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _best_value(run: RunDir, fallback: float | None) -> float | None:
    from droiz.runner.outputs.best import RunBest

    try:
        best = RunBest.from_dict(json.loads(run.best.read_text(encoding="utf-8")))
    except (OSError, ValueError, DataError):
        return fallback
    return fallback if best.robust_value is None else best.robust_value


def find_runs(root: str | Path) -> list[Path]:
    """``root`` if it is a run directory (it holds ``journal.jsonl`` or ``config.json``), else every
    run directory below it (sorted; a run's own subdirectories are not searched)."""
    root = Path(root)
    if RunDir.is_run(set(os.listdir(root)) if root.is_dir() else set()):
        return [root]
    found = []
    for current, dirs, files in os.walk(root):
        if RunDir.is_run(set(files)):
            found.append(Path(current))
            dirs.clear()
        else:
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return sorted(found)


def list_runs(root: str | Path) -> list[RunInfo]:
    """:func:`run_info` of every run under ``root`` (see :func:`find_runs`)."""
    return [run_info(path) for path in find_runs(root)]
