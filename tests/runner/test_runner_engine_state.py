"""``engine-state.json``: written and read back, matched to the journal's position, and the
environment check that decides whether a resume warns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from droiz.optim import RobustBO
from droiz.optim.conformance import objective
from droiz.runner.loop.outcomes import ScoreColumns
from droiz.runner.store.engine_state import (
    EngineState,
    environment_difference,
    pick_snapshot,
    read_engine_state,
    write_engine_state,
)
from droiz.runner.store.journal import JournalError
from droiz.runner.store.records import Ask, Tell
from droiz.runner.store.restore import adopt_ask
from droiz.runner.store.rundir import RunDir

COLUMNS = ScoreColumns(("a", "b", "c"), (4, 4, 4))


def _engine() -> RobustBO:
    return RobustBO(2, 3, "dro", "kl:0.5", budget=12, seed=1, n_init=4, batch_size=4)


def _tell(round_: int) -> Tell:
    return Tell(round=round_, summary={}, told=[], engine={"from": "tell"})


def _ask(round_: int, z: list[list[float]]) -> Ask:
    return Ask(round=round_, z=z, pending=[["a"]] * len(z), instructions=["x"] * len(z))


def test_the_state_file_round_trips_and_names_its_journal_position(tmp_path: Path) -> None:
    path = RunDir(tmp_path).engine_state
    assert read_engine_state(path) is None  # an older run
    bo = _engine()
    p = bo.ask()
    write_engine_state(path, bo)
    state = read_engine_state(path)
    assert state is not None and state.is_open
    assert (state.n_evaluations, state.round) == (0, 1)
    assert state.engine["open"]["z"] == p.z.tolist() and "observations" not in state.engine
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, renamed
    path.write_text("{not json")
    with pytest.raises(JournalError, match="delete it"):
        read_engine_state(path)


def test_the_state_file_is_used_only_at_the_journals_position(
    caplog: pytest.LogCaptureFixture,
) -> None:
    z = [[0.1, 0.2]]
    closed = EngineState(10, 2, {"open": None, "from": "state"})
    opened = EngineState(10, 3, {"open": {"z": z}, "from": "state"})
    assert pick_snapshot(None, _tell(2), 10, None) == {"from": "tell"}
    assert pick_snapshot(closed, _tell(2), 10, None) is closed.engine
    assert pick_snapshot(opened, _tell(2), 10, None) is opened.engine  # killed while generating
    assert pick_snapshot(opened, _tell(2), 10, _ask(3, z)) is opened.engine
    behind = EngineState(6, 2, {"open": {"z": z}})  # killed between the tell and the file
    assert pick_snapshot(behind, _tell(2), 10, None) == {"from": "tell"}
    ahead = EngineState(20, 4, {"open": None})  # a journal cut short by hand
    assert pick_snapshot(ahead, _tell(2), 10, None) == {"from": "tell"}
    assert "set aside" not in caplog.text
    assert pick_snapshot(opened, _tell(2), 10, _ask(3, [[0.3, 0.4]])) == {"from": "tell"}
    assert "set aside" in caplog.text
    assert pick_snapshot(EngineState(0, 1, {"open": {"z": z}}), None, 0, None) is not None


def test_the_environment_check_names_what_differs() -> None:
    snapshot = _engine().state_dict()
    assert environment_difference(snapshot) is None
    snapshot["environment"]["versions"]["gpytorch"] = "0.1"
    assert "gpytorch 0.1 -> " in (environment_difference(snapshot) or "")
    del snapshot["environment"]
    assert "an older droiz" in (environment_difference(snapshot) or "")


def test_adopting_the_journals_ask_makes_it_the_open_proposal() -> None:
    bo = _engine()
    p = bo.ask()
    z = (p.z * 0.5).tolist()
    adopt_ask(bo, _ask(1, z), COLUMNS)
    assert bo.pending is not None and bo.pending.z.tolist() == z
    assert bo.pending.groups[:, 0].all() and not bo.pending.groups[:, 1:].any()
    y = objective(torch.tensor(z), 3)
    bo.tell(torch.tensor(z), y)  # the journal's points are the ones told
    assert bo.n_evaluations == 4 and bo.pending is None
    assert json.dumps(bo.state_dict())
