"""An interrupted ``droiz bench table replay --workers 2`` stops at once: its workers end with it
(it used to wait for every submitted run, minutes), without a traceback and without results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from process_helpers import HAS_PROC, children, ended

from droiz.testing.tables import write_synthetic_table

HANG_GUARD_S = 120  # the old code went on for every run: about 20 minutes here


@pytest.mark.skipif(not HAS_PROC, reason="needs Linux's /proc")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_replay_ends_its_workers(tmp_path: Path, sig: int, code: int) -> None:
    tables = [
        write_synthetic_table(
            tmp_path / f"t{k}.json", task=f"t{k}", seed=k, levels=(3, 2, 2), n_dev=12, n_test=20
        )
        for k in (1, 2)
    ]
    args = ["bench", "table", "replay", *map(str, tables), "--seeds", "5000", "--budget", "14"]
    args += ["--n-dev", "8", "--methods", "dro,ucb,random", "--workers", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "droiz", *args, "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a shell job
    )
    try:
        workers: list[int] = []
        while len(workers) < 2 and proc.poll() is None:  # both workers started
            workers = children(proc.pid)
        assert proc.poll() is None, proc.communicate()[1]
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole foreground group
        else:
            os.kill(proc.pid, sig)  # `kill PID`: the parent only
        _, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "replay.json").exists()
    for pid in workers:  # ended, not left running
        assert ended(pid), pid
