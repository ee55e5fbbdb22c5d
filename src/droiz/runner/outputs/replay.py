"""Rebuild a finished run's result from its run directory, without any LLM request
(:func:`replay`, ``droiz report``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.runner.loop.engine_io import engine_from_saved
from droiz.runner.loop.finalize import final_pick
from droiz.runner.loop.outcomes import ScoreColumns
from droiz.runner.outputs.result import OptimizeResult, result_from
from droiz.runner.store.engine_state import read_engine_state
from droiz.runner.store.journal import JournalError, read_journal
from droiz.runner.store.records import Record
from droiz.runner.store.restore import restore
from droiz.runner.store.rundir import RunDir


def replay(run_dir: str | Path) -> OptimizeResult:
    """Rebuild a finished run's result from its journal, without any LLM request.

    Restores the engine from the journal, recomputes its final pick and robust value, and
    rebuilds the ``best.json`` payload from them and the journaled test evaluation. Nothing is
    written.

    Raises:
        JournalError: The directory holds no run, or the run has not finished (resume it).
    """
    return replay_run(run_dir).result


@dataclass
class Replayed:
    """A finished run rebuilt from its directory: its result, ``config.json`` and journal."""

    result: OptimizeResult
    saved: dict[str, Any]
    records: list[Record]


def replay_run(run_dir: str | Path) -> Replayed:
    """:func:`replay`, also returning the saved configuration and the journal's records (read
    once)."""
    run = RunDir(run_dir)
    saved = run.read_config()
    columns = ScoreColumns.from_groups(saved["resolved"]["groups"])
    engine = engine_from_saved(saved)
    records = read_journal(run.journal)
    restored = restore(engine, records, columns, read_engine_state(run.engine_state))
    if not engine.done or restored.test is None:
        raise JournalError(
            f"the run in {run_dir} has not finished; finish it with droiz optimize --out "
            f"{run_dir} --resume"
        )
    summary = restored.summaries[-1]
    m = int(saved["settings"].get("finalists", 0))
    try:
        final = final_pick(m, engine, restored.outcomes, restored.book, summary)
    except ValueError:
        raise JournalError(
            f"the run in {run_dir} stopped while verifying its finalists; finish it with "
            f"droiz optimize --out {run_dir} --resume"
        ) from None
    if restored.test.index != final.index:
        raise JournalError(
            f"the journal's test evaluation is of evaluation {restored.test.index} but the "
            f"restored run picks evaluation {final.index}; the run is not reproducible here"
        )
    result = result_from(saved, columns.names, restored, summary, final, run.path)
    return Replayed(result, saved, records)
