"""``droiz bench grid --track mlflow``: every cell is one MLflow run in the user's store (a local
sqlite store here), finished, with the cell's own ``best.json`` as its artifact and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grid_helpers import GatedServer, GridWorld, grid_args

from droiz.cli import main


def test_every_cell_of_a_tracked_grid_is_an_mlflow_run(
    grid_world: GridWorld,
    grid_server: GatedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    for name in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "grid"
    args = grid_args(
        grid_world, grid_server, out, tasks=1, methods="dro,ei", seeds=1,
        extra=("--workers", "2", "--track", "mlflow"),
    )  # fmt: skip
    assert main(args) == 0
    from mlflow import MlflowClient  # imported once telemetry is off

    client = MlflowClient()
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    by_dir = {Path(r.data.tags["droiz.run_dir"]).resolve(): r for r in runs}
    cells = sorted(p.parent.resolve() for p in (out / "cells").glob("*/*/seed-*/best.json"))
    assert len(cells) == 2 and sorted(by_dir) == cells
    for cell, run in by_dir.items():
        best = json.loads((cell / "best.json").read_text())
        assert run.info.status == "FINISHED"
        assert run.data.metrics["final/robust_value"] == pytest.approx(best["robust_value"])
        local = client.download_artifacts(run.info.run_id, "best.json", str(tmp_path / cell.name))
        assert json.loads(Path(local).read_text()) == best
