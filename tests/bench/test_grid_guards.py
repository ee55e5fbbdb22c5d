"""``droiz bench grid`` under caps, beside another grid, and with an unreachable Ray: capped cells
are reported as not finished (and resume), a second grid on one ``--out`` is refused before it
runs anything, and a Ray address where nothing listens is one line, at once."""

from __future__ import annotations

import csv
import json
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
