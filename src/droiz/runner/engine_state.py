"""``engine-state.json``: the engine's latest state in the run directory, for ``--resume``.

It is written atomically (a temporary file, fsync, rename) each time the engine's state changes in
a way its next ask depends on: right after each ``ask`` (the open proposal and the counters) and
right after each ``tell`` record is journaled (the reference weights, the GP's fitted
hyperparameters). It holds :meth:`~droiz.optim.RobustBO.state_dict` without the observations
(the journal's evaluations hold them), the journal position it belongs to, and the library
versions and platform it was written on (:func:`~droiz.optim.state.environment`).

A resume loads it and conditions the GP on the journal's observations with the saved
hyperparameters: nothing is refitted. Each ``tell`` record carries the same snapshot, so a kill
between the journal append and this file's rename loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.optim import RobustBO
from droiz.runner.engine import engine_snapshot
from droiz.runner.journal import JournalError, write_json

STATE_NAME = "engine-state.json"
STATE_FORMAT = 1


@dataclass(frozen=True)
class EngineState:
    """An ``engine-state.json``.

    Attributes:
        n_evaluations: Evaluations the engine had been told (the journal's finished rounds).
        round: The engine's proposals so far (the journal's ``round`` of its last ask).
        engine: The snapshot (:func:`~droiz.runner.engine.engine_snapshot`).
    """

    n_evaluations: int
    round: int
    engine: dict[str, Any]

    @property
    def is_open(self) -> bool:
        """Whether it was taken after an ask whose round is not told yet."""
        return self.engine.get("open") is not None


def write_engine_state(run_dir: Path, engine: RobustBO) -> None:
    """Write the engine's current state to ``run_dir / engine-state.json`` (atomically)."""
    snapshot = engine_snapshot(engine)
    payload = {
        "format": STATE_FORMAT,
        "n_evaluations": engine.n_evaluations,
        "round": engine.n_proposals,
        "environment": snapshot.get("environment"),
        "engine": snapshot,
    }
    write_json(Path(run_dir) / STATE_NAME, payload)


def read_engine_state(run_dir: Path) -> EngineState | None:
    """The run directory's ``engine-state.json``; ``None`` when it has none (an older run).

    Raises:
        JournalError: The file is not valid JSON or not an engine state of this format.
    """
    path = Path(run_dir) / STATE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise JournalError(
            f"{path} is unreadable or not valid JSON; delete it to resume by refitting the GP"
        ) from None
    ok = isinstance(data, dict) and isinstance(data.get("engine"), dict)
    if not ok or data.get("format") != STATE_FORMAT:
        raise JournalError(
            f"{path} is not an engine state of format {STATE_FORMAT}; delete it to resume by "
            "refitting the GP"
        )
    try:
        return EngineState(int(data["n_evaluations"]), int(data["round"]), data["engine"])
    except (KeyError, TypeError, ValueError):
        raise JournalError(f"{path} lacks its journal position (n_evaluations, round)") from None
