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
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.optim import RobustBO
from droiz.optim.state import environment
from droiz.runner.loop.engine_io import engine_snapshot
from droiz.runner.store.atomic import write_json
from droiz.runner.store.journal import JournalError
from droiz.runner.store.records import Ask, Tell
from droiz.runner.store.rundir import RunDir

logger = logging.getLogger(__name__)

STATE_FORMAT = 1


@dataclass(frozen=True)
class EngineState:
    """An ``engine-state.json``.

    Attributes:
        n_evaluations: Evaluations the engine had been told (the journal's finished rounds).
        round: The engine's proposals so far (the journal's ``round`` of its last ask).
        engine: The snapshot (:func:`~droiz.runner.loop.engine_io.engine_snapshot`).
    """

    n_evaluations: int
    round: int
    engine: dict[str, Any]

    @property
    def is_open(self) -> bool:
        """Whether it was taken after an ask whose round is not told yet."""
        return self.engine.get("open") is not None


def write_engine_state(path: Path, engine: RobustBO) -> None:
    """Write the engine's current state to ``path`` (a run's ``engine-state.json``, atomically)."""
    snapshot = engine_snapshot(engine)
    payload = {
        "format": STATE_FORMAT,
        "n_evaluations": engine.n_evaluations,
        "round": engine.n_proposals,
        "environment": snapshot.get("environment"),
        "engine": snapshot,
    }
    write_json(path, payload)


def read_engine_state(path: Path) -> EngineState | None:
    """A run's ``engine-state.json`` at ``path``; ``None`` when it has none (an older run).

    Raises:
        JournalError: The file is not valid JSON or not an engine state of this format.
    """
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


def pick_snapshot(
    state: EngineState | None, last: Tell | None, n_told: int, ask: Ask | None
) -> dict[str, Any] | None:
    """The engine snapshot to restore: ``engine-state.json`` where it is at the journal's
    position, else the last ``tell`` record's (the journal is the record of what happened: a
    file behind it, after a kill between the journal append and the file's rename, or one that
    does not belong to it, is set aside)."""
    told = last.engine if last is not None else None
    if state is None:
        return told
    last_round = int(last.round) if last is not None else 0
    expected = last_round + 1 if state.is_open else last_round
    if state.n_evaluations != n_told or state.round != expected:
        behind = state.n_evaluations < n_told or state.round < last_round
        logger.log(
            logging.DEBUG if behind else logging.INFO,
            "%s (round %d, %d evaluations) is %s the journal (round %d, %d evaluations told); "
            "restoring from the journal's last tell record",
            RunDir.ENGINE_STATE,
            state.round,
            state.n_evaluations,
            "behind" if behind else "not at the position of",
            last_round,
            n_told,
        )
        return told
    if state.is_open and ask is not None and state.engine["open"]["z"] != ask.z:
        logger.warning(
            "the open proposal in %s is not the journal's round %d; set aside (is the file from "
            "another run?), restoring from the journal's last tell record",
            RunDir.ENGINE_STATE,
            ask.round,
        )
        return told
    return state.engine


def environment_difference(snapshot: dict[str, Any]) -> str | None:
    """Why restoring ``snapshot`` here may not be bit-exact (``None``: same environment)."""
    saved, now = snapshot.get("environment"), environment()
    if saved is None:
        return (
            f"the run has no {RunDir.ENGINE_STATE} (an older droiz wrote it), so the GP is refitted"
        )
    if saved == now:
        return None
    diff = [
        f"{k} {saved.get(part, {}).get(k)} -> {now[part].get(k)}"
        for part in ("versions", "platform")
        for k in sorted(set(saved.get(part, {})) | set(now[part]))
        if saved.get(part, {}).get(k) != now[part].get(k)
    ]
    return f"its engine state was saved elsewhere ({', '.join(diff)})"
