"""``kill PID`` on a ``droiz bench grid`` (SIGTERM to the grid process only, as a scheduler or
``timeout`` sends it) stops its running cells as SIGTERM stops a run: each cell's journal ends
with an ``abort`` record, the grid exits 143 without a traceback and leaves no worker behind, and
a rerun resumes the cells. It used to wait for every running cell to finish (here: never, as the
server holds every answer)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from grid_helpers import GatedServer, GridWorld, grid_args
from process_helpers import HAS_PROC, children, ended

from droiz.cli import main
from droiz.runner.store.rundir import RunDir
from droiz.runner.store.runs import run_info

HANG_GUARD_S = 120  # the old code waited for the cells, whose answers never came


@pytest.mark.slow
@pytest.mark.skipif(not HAS_PROC, reason="needs Linux's /proc")
def test_sigterm_stops_the_running_cells_and_a_rerun_resumes_them(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path
) -> None:
    out = tmp_path / "grid"
    config = tmp_path / "cells.toml"
    # the answers wait longer than the guard: only a stopped cell ends before it
    config.write_text(grid_world.config.read_text() + "\n[executor_options]\ntimeout = 600\n")
    args = grid_args(grid_world, grid_server, out, tasks=2, methods="dro", seeds=1)
    args[args.index("--config") + 1] = str(config)
    args += ["--workers", "2"]
    cells = [out / "cells" / task / "dro" / "seed-0" for task in ("rev-a", "rev-b")]
    grid_server.gate.clear()  # every request waits from the start
    proc = subprocess.Popen(
        [sys.executable, "-m", "droiz", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        start_new_session=True,  # its own process group, as a shell job
    )
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        # both cells running (their workers hold the run locks) and waiting for answers
        while proc.poll() is None and time.monotonic() < deadline:
            if grid_server.server.n_requests and all(_running(c) for c in cells):
                break
            time.sleep(0.05)  # polling for the cells to start, not a timing assertion
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        workers = [p for p in children(proc.pid) if "spawn_main" in _cmdline(p)]
        assert len(workers) == 2
        os.kill(proc.pid, signal.SIGTERM)  # the grid process only
        _, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    for pid in workers:  # ended, not left running
        assert ended(pid), pid
    for cell in cells:
        assert run_info(cell).status == "aborted", cell

    grid_server.gate.set()
    assert main(args) == 0
    for cell in cells:
        assert run_info(cell).status == "finished", cell


def _running(cell: Path) -> bool:
    return (cell / "run.lock").exists() and RunDir(cell).is_locked()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except FileNotFoundError:
        return ""
