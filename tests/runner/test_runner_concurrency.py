"""Concurrent use: one process per run directory (an OS lock that a dead process does not hold),
and several processes sharing one response cache without "database is locked" or lost answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from runner_helpers import run_settings

import droiz
from droiz.cli import main
from droiz.exceptions import ConfigError
from droiz.llm import ResponseCache
from droiz.runner.store.rundir import RunDir, RunLock
from droiz.testing import FakeOpenAIServer

HOLD = (
    "import sys, time; from pathlib import Path; from droiz.runner.store.rundir import RunLock\n"
    "with RunLock(Path(sys.argv[1])):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(600)\n"
)


def _holder(run_dir: Path) -> subprocess.Popen:
    """Another process that holds the run directory's lock until it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_is_refused_and_a_dead_ones_lock_does_not_block(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    settings = run_settings(world_files, world_server, budget=4, n_init=2, batch_size=2)
    settings.update(kernel="matern", n_dev=3, n_test=3, finalists=1)
    droiz.optimize(out=run, **settings)  # a finished run to resume
    best = (run / "best.json").read_text()
    holder = _holder(run)
    try:
        assert main(["optimize", "--out", str(run), "--resume"]) == 2
        err = capsys.readouterr().err.strip()
        assert f"another droiz process (pid {holder.pid}) is using the run directory" in err
        assert len(err.splitlines()) == 1
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        with RunLock(fresh), pytest.raises(ConfigError, match="another droiz process"):
            RunLock(fresh).__enter__()  # a second start, even in this process, is refused
        n = world_server.n_requests
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert holder.returncode == -signal.SIGKILL  # it died holding the lock
    assert main(["optimize", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert world_server.n_requests == n and (run / "best.json").read_text() == best
    assert RunDir(run).lock_file.read_text().strip() == str(os.getpid())


def test_three_processes_share_one_cache(world, world_files: dict, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with FakeOpenAIServer(answer=world.answer) as server:
        argv = ["evaluate", "--task", str(world_files["task"]), "--executor", "openai:world"]
        argv += ["--instruction", "Write the word backwards.", "--base-url", server.base_url]
        argv += ["--cache-dir", str(cache), "--concurrency", "8"]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "droiz", *argv, "--json", str(tmp_path / f"{i}.json")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        for proc, (_, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, err
            assert "locked" not in err and "Traceback" not in err
        prompts = {json.dumps(b, sort_keys=True) for b in server.bodies}
        results = [json.loads((tmp_path / f"{i}.json").read_text()) for i in range(3)]
        assert results[0]["examples"] == results[1]["examples"] == results[2]["examples"]
        n = len(results[0]["examples"])
        assert len(prompts) == n  # the three processes asked the same n questions
        with ResponseCache(cache) as db:
            assert db.count("response") == n  # every answer is there, once
        again = droiz.evaluate(
            str(world_files["task"]),
            "Write the word backwards.",
            executor="openai:world",
            base_url=server.base_url,
            cache_dir=cache,
        )
    assert again.stats["cache_hits"] == n and again.stats["requests"] == 0
    assert again.examples == results[0]["examples"]
