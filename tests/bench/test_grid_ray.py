"""``droiz bench grid --backend ray``: the same grid as Ray tasks on a local Ray bound to
127.0.0.1 with usage stats off; and the one-line error when Ray is missing."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from grid_helpers import GatedServer, GridWorld, grid_args

from droiz.cli import main
from droiz.runner.store.runs import run_info


@pytest.mark.slow
def test_the_grid_runs_as_ray_tasks_on_a_local_ray(
    grid_world: GridWorld,
    grid_server: GatedServer,
    tmp_path: Path,
    local_ray: None,
    capsys,
) -> None:
    out = tmp_path / "grid"
    args = grid_args(grid_world, grid_server, out, extra=("--backend", "ray", "--workers", "2"))
    assert main(args) == 0, capsys.readouterr().err[-2000:]
    cells = sorted(p.parent for p in (out / "cells").glob("*/*/seed-*/best.json"))
    assert len(cells) == 12
    assert all(run_info(c).status == "finished" for c in cells)
    with (out / "results.csv").open() as fh:
        rows = {(r["task"], r["method"], r["seed"]): r for r in csv.DictReader(fh)}
    for cell in cells:
        best = json.loads((cell / "best.json").read_text())
        row = rows[(cell.parent.parent.name, cell.parent.name, cell.name[5:])]
        assert float(row["test_mean"]) == best["test"]["mean"]
    sent = grid_server.server.n_requests
    assert main(args) == 0  # a rerun on Ray skips every cell
    assert grid_server.server.n_requests == sent


def test_ray_missing_is_one_line_exit_2(
    grid_world: GridWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError

    class NoServer:
        base_url = "http://127.0.0.1:9/v1"

    out = tmp_path / "grid"
    args = grid_args(grid_world, NoServer(), out, extra=("--backend", "ray"))  # type: ignore[arg-type]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--backend ray needs Ray: pip install 'droiz[ray]'" in err[0]
    assert not out.exists()
