"""SIGTERM and SIGINT leave an abort record and a resumable run; permanent failures stop at once
with a line that says what to do."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from runner_helpers import (
    cli_args,
    cli_config,
    droiz_process,
    measured,
    read_best,
    read_records,
    same_run_result,
)

from droiz.cli import main
from droiz.runner.testing import InstructionWorld
from droiz.testing import FakeOpenAIServer


def _evals(run_dir: Path) -> int:
    try:
        text = (run_dir / "journal.jsonl").read_text()
    except OSError:
        return 0
    return text.count('"type": "eval"')


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_leaves_an_abort_record_and_resume_finishes_the_run(
    world: InstructionWorld, world_files: dict, tmp_path: Path, clean_run: Path, sig, code
) -> None:
    out, config = tmp_path / "run", cli_config(tmp_path / "settings.toml")
    with FakeOpenAIServer(answer=world.answer, delay=0.01) as server:
        args = cli_args(world_files, server, out, config)
        proc = droiz_process([*args, "--concurrency", "2"])
        deadline = time.monotonic() + 300
        while _evals(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the run to get going, not a timing assertion
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == code, err.decode()[-2000:]
        assert b"Traceback" not in err and b"--resume" in err
        records = read_records(out)
        assert records[-1]["type"] == "abort"
        assert ("SIGTERM" if sig == signal.SIGTERM else "SIGINT") in records[-1]["error"]
        assert not (out / "best.json").exists()
        assert main(["optimize", "--out", str(out), "--resume", "--base-url", server.base_url]) == 0
    assert measured(out) == measured(clean_run)
    assert same_run_result(read_best(out), read_best(clean_run))


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("401", "refused the API key: put a valid key in the environment variable OPENAI_API_KEY"),
        ("context", "longer than the model's context window"),
    ],
)
def test_permanent_failures_stop_at_once_with_what_to_do(
    world: InstructionWorld, world_files: dict, tmp_path: Path, capsys, fault: str, expected: str
) -> None:
    config = cli_config(tmp_path / "settings.toml")
    with FakeOpenAIServer(answer=world.answer) as server:
        server.add_fault(fault, times=10**6)
        assert main(cli_args(world_files, server, tmp_path / "run", config)) == 2
        sent = server.n_requests
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("droiz optimize: error")]
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in err
    assert sent <= 16  # only the requests already in flight when the first one failed
    assert read_records(tmp_path / "run")[-1]["type"] == "abort"


def test_an_unknown_model_names_what_the_server_offers(
    world: InstructionWorld, world_files: dict, tmp_path: Path, capsys
) -> None:
    config = cli_config(tmp_path / "settings.toml")
    with FakeOpenAIServer(answer=world.answer, models=["world-7b", "world-70b"]) as server:
        assert main(cli_args(world_files, server, tmp_path / "run", config)) == 2
    err = capsys.readouterr().err
    assert "the server has no model 'world'; it offers: world-7b, world-70b" in err
