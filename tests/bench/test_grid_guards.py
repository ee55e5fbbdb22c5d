"""``droiz bench grid`` under caps, beside another grid, and with an unreachable Ray: capped cells
are reported as not finished (and resume), a second grid on one ``--out`` is refused before it
runs anything, and a Ray address where nothing listens is one line, at once."""

from __future__ import annotations

import contextlib
import csv
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from grid_helpers import GatedServer, GridWorld, grid_args

from droiz.cli import main


def test_cells_stopped_at_a_cap_are_reported_unfinished_and_resume(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "grid"
    base = grid_args(grid_world, grid_server, out, tasks=1, methods="dro,random", seeds=1)
    assert main([*base, "--max-requests", "20"]) == 1
    err = capsys.readouterr().err
    assert err.count(": stopped at cap in ") == 2 and "unexpected" not in err, err
    assert "not finished (rev-a/dro/seed-0: stopped at cap); rerun with a higher cap" in err
    for cell in (out / "cells").glob("*/*/seed-0"):
        assert json.loads((cell / "best.json").read_text())["test"] is None
    with (out / "results.csv").open() as fh:
        assert list(csv.DictReader(fh)) == []  # no finished cell, no row
    report = (out / "report.md").read_text()
    assert "- 0 finished cells" in report
    assert "| rev-a/dro/seed-0 | stopped at cap |" in report
    assert main([*base, "--max-requests", "1000"]) == 0  # a higher cap: both cells finish
    with (out / "results.csv").open() as fh:
        assert sorted(r["method"] for r in csv.DictReader(fh)) == ["dro", "random"]


def _droiz(args: list[str]) -> subprocess.Popen[str]:
    """``droiz ARGS`` in a new process (the environment, ``PYTHONPATH`` included, inherited)."""
    command = [sys.executable, "-m", "droiz.cli", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_second_grid_on_one_out_is_refused_before_it_runs_anything(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path
) -> None:
    out = tmp_path / "grid"
    args = grid_args(grid_world, grid_server, out, tasks=1, methods="random", seeds=2)
    grid_server.gate.clear()  # the first grid's answers wait: it holds --out
    first = _droiz([*args, "--workers", "1"])
    try:
        _wait_for(lambda: grid_server.server.n_requests > 0, "the first grid's requests")
        second = _droiz(args)
        with contextlib.suppress(subprocess.TimeoutExpired):  # (droiz without the lock waits
            second.wait(timeout=60)  # on the gate with its own cells)
        assert not (out / "report.md").exists()
        grid_server.gate.set()
        _, err = second.communicate(timeout=300)
        assert second.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "another droiz process (pid " in lines[0], err
        assert f"pid {first.pid})" in lines[0] and str(out) in lines[0]
        _, first_err = first.communicate(timeout=300)
        assert first.returncode == 0, first_err
    finally:
        grid_server.gate.set()
        first.kill()
        first.wait()
    assert first_err.count(": finished") == 2 and "another droiz process" not in first_err
    assert (out / "report.md").is_file()


def test_a_ray_address_where_nothing_listens_is_one_line_at_once(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path, local_ray: None
) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    out = tmp_path / "grid"
    args = grid_args(grid_world, grid_server, out, tasks=1, methods="random", seeds=1)
    run = _droiz([*args, "--backend", "ray", "--ray-address", address])
    try:
        _, err = run.communicate(timeout=60)  # (Ray alone retries for minutes)
    finally:
        run.kill()
    assert run.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach the Ray cluster at {address}" in lines[0], err
    assert not (out / "cells").exists() and grid_server.server.n_requests == 0
