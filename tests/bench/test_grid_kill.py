"""The grid survives a killed worker, on both backends: SIGKILL the worker process (a pool
worker, or the Ray worker of the cell's task on a local Ray) whose cell has journaled evaluations
but no end; the pool is replaced, or Ray retries the task (``max_retries``), the cell resumes from
its journal and the grid completes, and no request of the journaled evaluations reaches the
(request-recording) server again."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from grid_helpers import GatedServer, GridWorld, grid_args

from droiz.cli import main
from droiz.runner.store.journal import load_journal
from droiz.runner.store.records import Eval, Verify
from droiz.runner.store.rundir import RunDir
from droiz.runner.store.runs import run_info
from droiz.testing import parse_query


def _evals(run_dir: Path) -> list[Eval]:
    try:
        records = load_journal(run_dir / "journal.jsonl").records
    except Exception:  # not written yet
        return []
    return [r for r in records if isinstance(r, Eval) and not isinstance(r, Verify)]


def _pid(run_dir: Path) -> int:
    return int((run_dir / "run.lock").read_text().split()[0])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["pool", "ray"])
def test_a_killed_worker_is_replaced_and_its_cell_resumes_without_resending(
    backend: str,
    grid_world: GridWorld,
    grid_server: GatedServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys,
) -> None:
    if backend == "ray":
        request.getfixturevalue("local_ray")
    out = tmp_path / "grid"
    # one executor model per cell (per-task tables), so the server tells their requests apart:
    # the other cell's concurrent requests are not the victim's
    config = tmp_path / "cells.toml"
    config.write_text(
        grid_world.config.read_text()
        + '\n[per_task.rev-a]\nexecutor = "openai:world-a"\n'
        + '[per_task.rev-b]\nexecutor = "openai:world-b"\n'
    )
    extra = ("--backend", backend, "--workers", "2")
    args = grid_args(grid_world, grid_server, out, tasks=2, methods="dro", seeds=1, extra=extra)
    i = args.index("--executor")
    del args[i : i + 2]
    args[args.index("--config") + 1] = str(config)
    done: dict[str, int] = {}
    driver = threading.Thread(target=lambda: done.setdefault("rc", main(args)))
    driver.start()
    victim = out / "cells" / "rev-a" / "dro" / "seed-0"
    deadline = time.monotonic() + 300
    while len(_evals(victim)) < 3 and driver.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the cell to get going, not a timing assertion
    grid_server.gate.clear()  # answers wait from now on: the cell cannot finish
    pid = _pid(victim)
    os.kill(pid, signal.SIGKILL)
    while RunDir(victim).is_locked():  # the OS drops the lock when the process is gone
        time.sleep(0.01)
    journaled = _evals(victim)
    assert run_info(victim).status == "crashed" and len(journaled) >= 3
    answered = list(grid_server.answered)
    sent_before = grid_server.server.n_requests
    grid_server.gate.set()
    driver.join(timeout=600)
    assert done.get("rc") == 0, capsys.readouterr().err[-2000:]

    measured = {(e.instruction, g) for e in journaled for g in e.groups}
    theirs = set()
    for model, prompt in answered:
        parsed = parse_query(prompt)
        if model == "world-a" and parsed and (parsed[0], parsed[2]) in measured:
            theirs.add(prompt)
    assert theirs  # the prompts of the journaled evaluations
    resent = theirs & set(grid_server.prompts(sent_before, model="world-a"))
    assert not resent, f"{len(resent)} request(s) of journaled evaluations sent again"
    assert grid_server.server.n_requests > sent_before  # the rest of the grid did run
    records = load_journal(victim / "journal.jsonl").records
    assert any(type(r).__name__ == "Resume" for r in records)
    indices = [e.index for e in _evals(victim)]
    assert len(indices) == len(set(indices)) == 9  # every evaluation journaled once
    assert run_info(victim).status == "finished"
    assert run_info(out / "cells" / "rev-b" / "dro" / "seed-0").status == "finished"

    # and a rerun of the whole grid has nothing left to do
    before = grid_server.server.n_requests
    assert main(args) == 0
    assert grid_server.server.n_requests == before
