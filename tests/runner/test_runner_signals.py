"""SIGTERM and SIGINT leave an abort record and a resumable run; permanent failures stop at once
with a line that says what to do."""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
from droiz.runner.store.runs import run_info
from droiz.testing import FakeOpenAIServer, InstructionWorld


class _HoldAfter:
    """The world's answers for the first ``n`` requests; later requests are held until
    :meth:`release`, so a run that sent them cannot finish before the test acts on it."""

    def __init__(self, world: InstructionWorld, n: int) -> None:
        self.world, self.left = world, n
        self.lock = threading.Lock()
        self.holding, self.released = threading.Event(), threading.Event()

    def __call__(self, prompt: str, body: Mapping[str, Any]) -> str:
        with self.lock:
            self.left -= 1
            hold = self.left < 0
        if hold:
            self.holding.set()
            self.released.wait()
        return self.world.answer(prompt, body)

    def release(self) -> None:
        self.released.set()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code", "sigint"),
    [
        (signal.SIGTERM, 143, "default"),
        (signal.SIGINT, 130, "default"),
        (signal.SIGTERM, 143, "ignored"),  # started with `&` by a script: SIGTERM still stops it
    ],
)
def test_a_signal_leaves_an_abort_record_and_resume_finishes_the_run(
    world: InstructionWorld,
    world_files: dict,
    tmp_path: Path,
    clean_run: Path,
    sig: signal.Signals,
    code: int,
    sigint: str,
) -> None:
    out, config = tmp_path / "run", cli_config(tmp_path / "settings.toml")
    answer = _HoldAfter(world, n=60)  # 60 answers: three evaluations' worth (10 dev x 2 groups)
    with FakeOpenAIServer(answer=answer) as server:
        args = cli_args(world_files, server, out, config)
        proc = droiz_process([*args, "--concurrency", "2"], sigint=sigint)
        try:  # the signal comes while the run waits for a held answer: mid-round, never done
            while not answer.holding.wait(0.1):
                assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:  # only when an assertion above failed
                proc.kill()
                proc.wait()
            answer.release()
        assert proc.returncode == code, err.decode()[-2000:]
        assert b"Traceback" not in err and b"--resume" in err
        records = read_records(out)
        assert records[-1]["type"] == "abort"
        assert ("SIGTERM" if sig == signal.SIGTERM else "SIGINT") in records[-1]["error"]
        assert not (out / "best.json").exists()
        assert main(["optimize", "--out", str(out), "--resume", "--base-url", server.base_url]) == 0
    assert measured(out) == measured(clean_run)
    assert same_run_result(read_best(out), read_best(clean_run))


def test_an_interrupt_after_the_end_record_leaves_a_finished_run(
    world: InstructionWorld,
    world_files: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C or SIGTERM while a finished run writes its outputs (a grid's pool terminating its
    workers) adds no ``abort`` after the ``end`` record; resuming the finished run sends nothing,
    ends its session with an ``end`` record too, and the run stays ``finished``."""
    import droiz.runner.loop.study as study

    out, config = tmp_path / "run", cli_config(tmp_path / "settings.toml", budget=20)
    write_outputs = study.write_outputs

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with FakeOpenAIServer(answer=world.answer) as server:
        args = [*cli_args(world_files, server, out, config), "--cache-dir", str(tmp_path / "c")]
        monkeypatch.setattr(study, "write_outputs", interrupted)
        assert main(args) == 130
        assert [r["type"] for r in read_records(out)][-2:] == ["test", "end"]
        assert run_info(out).status == "finished"
        monkeypatch.setattr(study, "write_outputs", write_outputs)
        sent = server.n_requests
        assert main(["optimize", "--out", str(out), "--resume", "--base-url", server.base_url]) == 0
        assert server.n_requests == sent
    assert [r["type"] for r in read_records(out)][-3:] == ["end", "resume", "end"]
    assert run_info(out).status == "finished" and read_best(out)["test"] is not None


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


STARTUP_POINTS = 9
"""The ``startup`` kill points of ``droiz.optimize`` (see ``droiz._killpoint``)."""


@pytest.mark.slow
def test_sigterm_at_any_moment_of_a_resumes_start_up_ends_it_as_ctrl_c_does(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    from runner_helpers import matern_settings

    import droiz

    run = tmp_path / "run"
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(droiz.runner.CapReached):
        droiz.optimize(out=run, **settings, max_requests=50)
    args = ["resume", str(run), "--max-requests", "100000", "--no-progress"]
    for point in range(1, STARTUP_POINTS + 1):
        before = (run / "journal.jsonl").read_bytes()
        proc = droiz_process(args, DROIZ_TEST_KILL_AT=f"startup:{point}:TERM")
        _, err = proc.communicate(timeout=300)
        text = err.decode()
        assert proc.returncode == 143, (point, text[-2000:])
        assert "Traceback" not in text and "terminated (SIGTERM)" in text.splitlines()[-1]
        after, last = (run / "journal.jsonl").read_bytes(), read_records(run)[-1]
        if point < STARTUP_POINTS:  # before the resume record: nothing changed
            assert after == before, point
        else:  # after it: an abort record, as on Ctrl-C
            assert after.startswith(before) and last["type"] == "abort"
            assert "SIGTERM" in last["error"]
    assert main([*args, "--cache-dir", str(tmp_path / "cache")]) == 0
    assert read_records(run)[-1]["type"] == "end"
