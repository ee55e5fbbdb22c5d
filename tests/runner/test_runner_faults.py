"""Faults during ``optimize``: transient ones lose nothing; a persistent one stops the run cleanly
and ``--resume`` finishes it with the same result as an uninterrupted run, paying nothing twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runner_helpers import (
    FAST_ENGINE,
    FAST_RETRY,
    cli_args,
    read_best,
    read_records,
    run_settings,
    same_run_result,
)

import droiz
from droiz.cli import main
from droiz.runner import RunInterrupted, replay
from droiz.testing import FakeOpenAIServer, InstructionWorld


def test_transient_faults_lose_no_examples(
    world: InstructionWorld, world_files: dict, tmp_path: Path
) -> None:
    # Each run its own cache: namespaces differ only by the servers' ports, so a port the OS
    # handed out again would answer the faulty run from the clean run's cache (no fault met).
    with FakeOpenAIServer(answer=world.answer) as clean:
        settings = run_settings(world_files, clean, cache_dir=str(tmp_path / "cache-clean"))
        droiz.optimize(out=tmp_path / "clean", **settings)
    with FakeOpenAIServer(answer=world.answer) as server:
        server.add_fault("429", times=3, retry_after=0.01)
        server.add_fault("500", times=3)
        server.add_fault("503", times=2)
        server.add_fault("bad_json", times=2)
        server.add_fault("no_choices", times=2)
        server.add_fault("null_content", times=2)
        server.add_fault("slow", times=2, delay=1.0)
        options = {**FAST_RETRY, "timeout": 0.3}
        cache = str(tmp_path / "cache-faulty")
        settings = run_settings(world_files, server, executor_options=options, cache_dir=cache)
        result = droiz.optimize(out=tmp_path / "faulty", **settings)
        sent = server.n_requests
    assert sent == result.stats["requests"] > 0  # every attempt reached the faulty server
    assert result.stats["retries"] >= 16
    assert same_run_result(read_best(tmp_path / "faulty"), read_best(tmp_path / "clean"))
    for rec in read_records(tmp_path / "faulty"):
        if rec["type"] in ("eval", "verify"):
            assert all(len(s) == 10 for s in rec["scores"].values())
            assert rec["scores"] == next(
                r["scores"]
                for r in read_records(tmp_path / "clean")
                if r["type"] == rec["type"] and r["index"] == rec["index"]
            )


def _target(run_dir: Path) -> str:
    """An instruction first measured in round 2 of a run (to fail after a finished round)."""
    seen = set()
    for rec in read_records(run_dir):
        if rec["type"] == "eval" and rec["round"] == 1:
            seen.add(rec["instruction"])
    return next(
        r["instruction"]
        for r in read_records(run_dir)
        if r["type"] == "eval" and r["round"] == 2 and r["instruction"] not in seen and r["paid"]
    )


@pytest.mark.slow
def test_persistent_fault_stops_cleanly_and_resume_matches_an_uninterrupted_run(
    world: InstructionWorld, world_files: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(
        "budget = 40\nn_init = 20\nbatch_size = 10\nn_dev = 10\n"
        f"[engine]\ncma_starts = {FAST_ENGINE['cma_starts']}\n"
        f"cma_popsize = {FAST_ENGINE['cma_popsize']}\n"
        f"cma_generations = {FAST_ENGINE['cma_generations']}\n"
        "[executor_options.retry]\nmax_retries = 3\nbase_delay = 0.001\nmax_delay = 0.01\n"
    )

    def cli(server: FakeOpenAIServer, out: Path, cache: str, *extra: str) -> int:
        args = cli_args(world_files, server, out, config)
        return main([*args, "--cache-dir", str(tmp_path / cache), *extra])

    with FakeOpenAIServer(answer=world.answer) as server:
        assert cli(server, tmp_path / "a", "cache-a") == 0
        answered_a = server.n_answered
    target = _target(tmp_path / "a")
    with FakeOpenAIServer(answer=world.answer) as server:
        server.add_fault("500", times=10**9, match=f"Instruction: {target}\n")
        capsys.readouterr()
        assert cli(server, tmp_path / "b", "cache-b") == 2
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("droiz optimize: error")]
        assert len(errors) == 1 and "Traceback" not in err  # retry warnings may precede it
        assert "HTTP 500" in errors[0] and "--resume" in errors[0]
        assert str(tmp_path / "b") in errors[0]
        records = read_records(tmp_path / "b")
        assert records[-1]["type"] == "abort" and any(r["type"] == "tell" for r in records)
        assert not (tmp_path / "b" / "best.json").exists()
        with (tmp_path / "b" / "journal.jsonl").open("a") as fh:
            fh.write('{"type": "eval", "round": 2, "sl')  # a torn last line, as after a crash
        server.clear_faults()
        assert cli(server, tmp_path / "b", "cache-b", "--resume") == 0
        answered_b = server.n_answered
    assert same_run_result(read_best(tmp_path / "b"), read_best(tmp_path / "a"))
    assert answered_b == answered_a, "every answer paid for before the failure is reused"
    assert replay(tmp_path / "b").best == read_best(tmp_path / "b")
    assert same_run_result(replay(tmp_path / "b").best, read_best(tmp_path / "a"))
    types = [r["type"] for r in read_records(tmp_path / "b")]
    assert types.count("resume") == 1 and types[-1] == "end"


def test_resume_refuses_changed_settings_and_a_finished_run_is_not_repeated(
    world: InstructionWorld, world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    settings = run_settings(world_files, world_server)
    first = droiz.optimize(out=tmp_path / "run", **settings)
    with pytest.raises(droiz.exceptions.ConfigError, match="budget"):
        droiz.optimize(out=tmp_path / "run", resume=True, **{**settings, "budget": 50})
    with pytest.raises(droiz.exceptions.ConfigError, match="--resume"):
        droiz.optimize(out=tmp_path / "run", **settings)
    sent = world_server.n_requests
    again = droiz.optimize(out=tmp_path / "run", resume=True, **settings)
    assert world_server.n_requests == sent and again.best == first.best
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["settings"]["budget"] == 30


def test_run_interrupted_is_a_backend_error_naming_the_fix(
    world: InstructionWorld, world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    world_server.add_fault("500", times=10**9)
    with pytest.raises(RunInterrupted, match="--resume") as info:
        droiz.optimize(out=tmp_path / "run", **run_settings(world_files, world_server))
    assert isinstance(info.value, droiz.exceptions.BackendError)
    assert "\n" not in str(info.value)
