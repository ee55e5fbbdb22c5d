"""SIGKILL ``droiz optimize`` at chosen moments, then resume: nothing paid for is lost or repeated.

The subprocess kills itself at a deterministic point through the test-only hook
``DROIZ_TEST_KILL_AT=point:count`` (:mod:`droiz._killpoint`). A loopback server records every
request body of both sessions. Each resumed run must end with the uninterrupted run's journal,
asks (bit-exact) and ``best.json``, and must send no request of an evaluation completed before
the kill. A resume whose ``engine-state.json`` has its GP hyperparameters perturbed in the last
bit (standing in for another machine) must finish too, with one warning and no repeated request.
"""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import (
    cli_args,
    cli_config,
    droiz_process,
    measured,
    measured_records,
    read_best,
    read_records,
    same_run_result,
)

from droiz.cli import main
from droiz.testing import FakeOpenAIServer, InstructionWorld, parse_query
from droiz.testing.server import prompt_of

pytestmark = pytest.mark.slow

BUDGET = 40  # rounds of 20, 10 and 10: the third ask comes from a GP fitted twice
WARNING = "bit-exactness"


@pytest.fixture(scope="module")
def world() -> InstructionWorld:
    """The large world (40 instructions x 4 groups): a budget of 40 leaves pairs unobserved, so
    the run verifies finalists (the small world's 64 pairs are all observed first)."""
    return InstructionWorld("large")


@pytest.fixture(scope="module")
def world_files(world: InstructionWorld, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("large-world")
    return {"task": world.write_task(root / "reverse.jsonl"), "pool": world.write_pool(root / "p")}


@pytest.fixture(scope="module")
def clean(world: InstructionWorld, world_files: dict, tmp_path_factory) -> Path:
    """The uninterrupted run."""
    root = tmp_path_factory.mktemp("clean")
    config = cli_config(root / "settings.toml", budget=BUDGET)
    with FakeOpenAIServer(answer=world.answer) as server:
        args = cli_args(world_files, server, root / "run", config)
        assert main([*args, "--cache-dir", str(root / "cache")]) == 0
    records = read_records(root / "run")
    assert any(r["type"] == "verify" for r in records), "the kill at 'verify' needs finalists"
    return root / "run"


def _sent_before(records: list[dict[str, Any]], phase: str, round_: int = 0) -> int:
    """Requests the run sent before ``round_``'s evaluations (``phase="eval"``) or before the
    test evaluation (``phase="test"``)."""
    kinds = ("eval",) if phase == "eval" else ("eval", "verify")
    return sum(
        r["requests"]["sent"]
        for r in records
        if r["type"] in kinds and (phase == "test" or r["round"] < round_)
    )


def _line_of_tell(records: list[dict[str, Any]], round_: int) -> int:
    return next(i for i, r in enumerate(records, 1) if r["type"] == "tell" and r["round"] == round_)


def _kill_spec(point: str, records: list[dict[str, Any]]) -> str:
    return {
        "generate": "generate:3",  # the third round's instructions, before their ask record
        "evaluation": f"answer:{_sent_before(records, 'eval', 3) + 5}",
        "append": f"append:{_line_of_tell(records, 2)}",  # right after the second tell record
        "verification": "verify:1",
        "test": f"answer:{_sent_before(records, 'test') + 5}",
    }[point]


def _measurement(world: InstructionWorld, body: dict[str, Any]) -> tuple[str, str, str]:
    """``(instruction, group, split)`` of a request body."""
    parsed = parse_query(prompt_of(body))
    assert parsed is not None, prompt_of(body)
    instruction, x, group = parsed
    word = x.split("\n", 1)[0].strip().lower()
    split = "test" if word in world.words[world.n_induce :] else "dev"
    return instruction, group, split


def _completed(records: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """The measurements of every evaluation journaled complete."""
    done = set()
    for r in records:
        if r["type"] in ("eval", "verify"):
            done |= {(r["instruction"], g, "dev") for g in r["scores"]}
        elif r["type"] == "test":
            done |= {(r["instruction"], g, "test") for g in r["scores"]}
    return done


def _asks(run_dir: Path) -> list[tuple[Any, ...]]:
    keys = ("round", "z", "pending", "instructions", "acquisition_weights")
    return [tuple(r[k] for k in keys) for r in read_records(run_dir) if r["type"] == "ask"]


def _summaries(run_dir: Path) -> list[dict[str, Any]]:
    return [r["summary"] for r in read_records(run_dir) if r["type"] == "tell"]


def _kill(args: list[str], spec: str) -> None:
    proc = droiz_process(args, DROIZ_TEST_KILL_AT=spec)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]


def _state(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "engine-state.json").read_text())


def _check_where(point: str, run: Path, records: list, sent: list, world: InstructionWorld) -> None:
    """The kill happened where it was asked for."""
    types = [r["type"] for r in records]
    rounds = [r["round"] for r in records if r["type"] == "ask"]
    sent_keys = {_measurement(world, b) for b in sent}
    partial = sent_keys - _completed(records)
    if point == "generate":
        assert records[-1]["type"] == "tell" and records[-1]["round"] == 2 and rounds == [1, 2]
        state = _state(run)
        assert state["round"] == 3 and state["engine"]["open"] is not None  # asked, not journaled
    elif point == "evaluation":
        assert rounds[-1] == 3 and "verify" not in types
        assert sum(r["type"] == "eval" and r["round"] == 3 for r in records) < 10
        assert any(split == "dev" for _, _, split in partial), "no partial evaluation"
    elif point == "append":
        assert records[-1]["type"] == "tell" and records[-1]["round"] == 2
        assert _state(run)["round"] == 2  # the state file was one step behind at the kill
    elif point == "verification":
        assert records[-1]["type"] == "verify" and "verified" not in types
    else:
        assert "test" not in types and ("verified" in types or "verify" not in types)
        assert any(split == "test" for _, _, split in partial), "the test evaluation had not begun"


@pytest.mark.parametrize("point", ["generate", "evaluation", "append", "verification", "test"])
def test_a_kill_anywhere_resumes_to_the_uninterrupted_run(
    world: InstructionWorld,
    world_files: dict,
    tmp_path: Path,
    clean: Path,
    caplog: pytest.LogCaptureFixture,
    point: str,
) -> None:
    run, config = tmp_path / "run", cli_config(tmp_path / "settings.toml", budget=BUDGET)
    spec = _kill_spec(point, read_records(clean))
    with FakeOpenAIServer(answer=world.answer) as server:
        args = [*cli_args(world_files, server, run, config), "--cache-dir", str(tmp_path / "c")]
        _kill(args, spec)
        killed, first = read_records(run), list(server.bodies)
        _check_where(point, run, killed, first, world)
        assert main([*args, "--resume"]) == 0
        second = server.bodies[len(first) :]
    repeated = {_measurement(world, b) for b in second} & _completed(killed)
    assert not repeated, f"requested again after the kill at {spec}: {sorted(repeated)[:3]}"
    assert measured(run) == measured(clean)
    assert _asks(run) == _asks(clean)  # the remaining asks, bit for bit
    assert _summaries(run) == _summaries(clean)
    assert same_run_result(read_best(run), read_best(clean))
    assert WARNING not in caplog.text


def _next(value: Any) -> Any:
    """``value`` (a float or nested lists of them) moved one ulp up."""
    if isinstance(value, list):
        return [_next(v) for v in value]
    return math.nextafter(value, math.inf)


def _perturb(run_dir: Path, how: str) -> None:
    """Move every fitted GP hyperparameter of ``engine-state.json`` by one ulp (its last decimal
    changes), or name other library versions in it."""
    path = run_dir / "engine-state.json"
    state = json.loads(path.read_text())
    if how == "hyperparameters":
        fit = state["engine"]["fit"]
        assert fit["current"] and fit["result"], "no fitted hyperparameters to perturb"
        fit["result"] = {k: _next(v) for k, v in fit["result"].items()}
    else:
        state["engine"]["environment"]["versions"]["torch"] = "0.0-elsewhere"
    path.write_text(json.dumps(state))


@pytest.mark.parametrize("how", ["hyperparameters", "versions"])
def test_a_resume_elsewhere_finishes_with_one_warning_and_no_repeated_request(
    world: InstructionWorld,
    world_files: dict,
    tmp_path: Path,
    clean: Path,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    run, config = tmp_path / "run", cli_config(tmp_path / "settings.toml", budget=BUDGET)
    spec = f"answer:{_sent_before(read_records(clean), 'eval', 2) + 5}"  # in round 2
    with FakeOpenAIServer(answer=world.answer) as server:
        args = [*cli_args(world_files, server, run, config), "--cache-dir", str(tmp_path / "c")]
        _kill(args, spec)
        killed, first = read_records(run), len(server.bodies)
        assert _state(run)["round"] == 2 and _state(run)["engine"]["open"] is not None
        _perturb(run, how)
        assert main([*args, "--resume"]) == 0
        second = server.bodies[first:]
    repeated = {_measurement(world, b) for b in second} & _completed(killed)
    assert not repeated, f"requested again: {sorted(repeated)[:3]}"
    warnings = [r for r in caplog.records if WARNING in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    if how == "versions":
        assert "torch 0.0-elsewhere -> " in warnings[0].getMessage()
    done = measured(run)
    assert all(done[k] == v for k, v in measured_records(killed).items())  # nothing redone or lost
    assert read_records(run)[-1]["type"] == "end" and read_best(run)["instruction"]


def _as_older_droiz(run_dir: Path) -> None:
    """What a droiz before engine-state.json left: no state file, tell snapshots without the
    fitted state or the environment, a journal in format 1 (no checksums, no caps)."""
    (run_dir / "engine-state.json").unlink()
    lines = []
    for r in read_records(run_dir):
        r.pop("crc32")
        if r["type"] in ("start", "resume"):
            r["version"] = 1
            r.pop("caps", None)
        if r["type"] == "tell":
            for key in ("environment", "acquisition_weights"):
                r["engine"].pop(key)
            r["engine"]["fit"].pop("current")
            r["engine"]["fit"].pop("wstar")
        lines.append(json.dumps(r) + "\n")
    (run_dir / "journal.jsonl").write_text("".join(lines))


def test_a_run_without_engine_state_is_resumed_by_refitting_with_the_warning(
    world: InstructionWorld,
    world_files: dict,
    tmp_path: Path,
    clean: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run, config = tmp_path / "run", cli_config(tmp_path / "settings.toml", budget=BUDGET)
    with FakeOpenAIServer(answer=world.answer) as server:
        args = [*cli_args(world_files, server, run, config), "--cache-dir", str(tmp_path / "c")]
        _kill(args, _kill_spec("evaluation", read_records(clean)))
        killed, first = read_records(run), len(server.bodies)
        _as_older_droiz(run)
        assert main([*args, "--resume"]) == 0
        second = server.bodies[first:]
    assert not {_measurement(world, b) for b in second} & _completed(killed)
    warnings = [r.getMessage() for r in caplog.records if WARNING in r.getMessage()]
    assert len(warnings) == 1 and "no engine-state.json" in warnings[0], caplog.text
    assert measured(run) == measured(clean)  # the refit on the same machine is exact here
    assert same_run_result(read_best(run), read_best(clean))
