"""``droiz bench grid`` on the process pool: a 2-task x 3-method x 2-seed grid of real
``droiz optimize`` runs against a loopback server, its report checked against the cells' files,
and a rerun that sends nothing."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import numpy as np
import pytest
from grid_helpers import GatedServer, GridWorld, grid_args

from droiz.axes import AXES
from droiz.bench.grid_plots import best_so_far
from droiz.bench.paired import compare
from droiz.cli import main
from droiz.runner.store.runs import run_info

METHODS = ("dro", "ei", "random")
TASKS = ("rev-a", "rev-b")


@pytest.fixture(scope="module")
def pool_grid(
    grid_world: GridWorld, module_server: GatedServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("pool-grid") / "grid"
    assert main(grid_args(grid_world, module_server, out, extra=("--workers", "2"))) == 0
    return out


def _best(out: Path, task: str, method: str, seed: int) -> dict:
    return json.loads((out / "cells" / task / method / f"seed-{seed}" / "best.json").read_text())


def _tests(out: Path, task: str | None, method: str, key: str) -> list[float]:
    tasks = [task] if task else TASKS
    return [_best(out, t, method, s)["test"][key] for t in tasks for s in (0, 1)]


def test_every_cell_is_a_finished_optimize_run(pool_grid: Path) -> None:
    cells = sorted(p.parent for p in (pool_grid / "cells").glob("*/*/seed-*/journal.jsonl"))
    assert len(cells) == 12
    for cell in cells:
        info = run_info(cell)
        assert info.status == "finished" and info.evaluations == 9, (cell, info)
        best = json.loads((cell / "best.json").read_text())
        assert best["method"] == cell.parent.name and best["seed"] == int(cell.name[5:])
    # an ordinary run directory: droiz report rebuilds it
    assert main(["report", str(cells[0])]) == 0
    manifest = json.loads((pool_grid / "grid.json").read_text())
    assert manifest["methods"] == list(METHODS) and manifest["seeds"] == [0, 1]
    assert (pool_grid / "cache" / "droiz-cache.sqlite3").is_file()  # one cache for every cell


def test_results_csv_holds_each_cells_best_json(pool_grid: Path) -> None:
    rows = list(csv.DictReader((pool_grid / "results.csv").open()))
    assert len(rows) == 12
    for row in rows:
        best = _best(pool_grid, row["task"], row["method"], int(row["seed"]))
        assert float(row["test_mean"]) == best["test"]["mean"]
        assert float(row["worst_group"]) == best["test"]["worst_group"]
        assert float(row["shifted"]) == best["test"]["shifted"]
        assert row["worst_group_name"] == best["test"]["worst_group_name"]
        assert float(row["dev_robust_value"]) == best["robust_value"]
        assert row["instruction"] == best["instruction"]
        axes = {k: row[k] for k in AXES}  # what the cell ran with, from its config.json
        assert axes == json.loads((pool_grid / "grid.json").read_text())["axes"][row["method"]]
        assert axes["group_rule"] == "reference"  # the default, for model-based and free alike
    axes = {r["method"]: (r["acquisition"], r["reference_update"], r["final_pick"]) for r in rows}
    assert axes == {
        "dro": ("robust-ucb", "ema", "robust"),
        "ei": ("ei", "fixed", "nominal"),
        "random": ("none", "fixed", "observed-nominal"),
    }
    assert (
        "- group rule `reference` for every model-based method"
        in (pool_grid / "report.md").read_text()
    )


def test_the_group_rule_of_the_grid_is_recorded_per_cell(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path
) -> None:
    """``--group-rule adversarial``: the model-based method's cells ran with it (their
    ``config.json``), and ``results.csv``, ``grid.json`` and the report say so; the model-free
    method samples by the reference weights and is recorded so."""
    out = tmp_path / "grid"
    args = grid_args(grid_world, grid_server, out, tasks=1, methods="dro,random", seeds=1)
    assert main([*args, "--group-rule", "adversarial"]) == 0
    rows = {r["method"]: r for r in csv.DictReader((out / "results.csv").open())}
    assert {m: r["group_rule"] for m, r in rows.items()} == {
        "dro": "adversarial",
        "random": "reference",
    }
    saved = json.loads((Path(rows["dro"]["run_dir"]) / "config.json").read_text())
    assert saved["resolved"]["engine"]["group_selection"] == "adversarial"
    grid = json.loads((out / "grid.json").read_text())
    assert grid["axes"]["dro"]["group_rule"] == "adversarial"
    assert (
        "- group rule `adversarial` for every model-based method" in (out / "report.md").read_text()
    )


def _pm(values: list[float]) -> str:
    return f"{100 * statistics.fmean(values):.1f} ± {100 * statistics.stdev(values):.1f}"


def test_report_tables_follow_from_the_cells(pool_grid: Path) -> None:
    report = (pool_grid / "report.md").read_text()
    for task in TASKS:
        row = " | ".join(_pm(_tests(pool_grid, task, m, "mean")) for m in METHODS)
        assert f"| {task} | {row} |" in report
    averages = [
        statistics.fmean(statistics.fmean(_tests(pool_grid, t, m, "mean")) for t in TASKS)
        for m in METHODS
    ]
    assert "| **average over tasks** | " + " | ".join(f"{100 * a:.1f}" for a in averages) in report
    gains = [
        statistics.fmean(_tests(pool_grid, t, "dro", "mean"))
        - statistics.fmean(_tests(pool_grid, t, "ei", "mean"))
        for t in TASKS
    ]
    wins = sum(g > 0.01 + 1e-9 for g in gains)
    losses = sum(g < -0.01 - 1e-9 for g in gains)
    assert f"median per-task gain of DRO over EI: {100 * statistics.median(gains):+.1f}" in report
    assert f"win/tie/loss against EI over tasks: {wins}/{2 - wins - losses}/{losses}" in report
    for m in METHODS:
        row = " | ".join(_pm(_tests(pool_grid, None, m, k)) for k in ("mean", "worst_group"))
        assert f"| {m} | {row} | {_pm(_tests(pool_grid, None, m, 'shifted'))} |" in report
    for other in ("ei", "random"):
        dro, them = (_tests(pool_grid, None, m, "worst_group") for m in ("dro", other))
        p = compare("dro", other, "worst_group", dro, them)
        lo, hi = p["ci"]
        diffs = [a - b for a, b in zip(dro, them, strict=True)]
        mdd = 100 * 2.80 * statistics.stdev(diffs) / 2  # 2 = sqrt(4 pairs)
        assert (
            f"| dro - {other} | worst group | 4 | {p['diff']:+.1f} | "
            f"[{lo:+.1f}, {hi:+.1f}] | {mdd:.1f} | too few pairs | "
            f"{p['wins']}/{p['ties']}/{p['losses']} |"
        ) in report


def test_plots_are_written(pool_grid: Path) -> None:
    names = ["per_task_accuracy.png", "convergence.png", "groups_rev-a.png", "groups_rev-b.png"]
    for name in names:
        assert (pool_grid / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"![{name}]({name})" in (pool_grid / "report.md").read_text()


def test_best_so_far_is_the_running_maximum_of_the_rounds() -> None:
    y = best_so_far([(5, 0.5), (7, 0.4), (9, 0.7)], 9)
    assert np.isnan(y[:4]).all()
    assert list(y[4:]) == [0.5, 0.5, 0.5, 0.5, 0.7]


def test_a_rerun_skips_every_cell_and_sends_nothing(
    pool_grid: Path, grid_world: GridWorld, module_server: GatedServer, capsys
) -> None:
    before = module_server.server.n_requests
    csv_before = (pool_grid / "results.csv").read_text()
    assert main(grid_args(grid_world, module_server, pool_grid)) == 0
    assert module_server.server.n_requests == before
    assert capsys.readouterr().err.count(": skipped") == 12
    assert (pool_grid / "results.csv").read_text() == csv_before


def test_a_rerun_with_other_settings_is_refused(
    pool_grid: Path, grid_world: GridWorld, module_server: GatedServer, capsys
) -> None:
    args = grid_args(grid_world, module_server, pool_grid, extra=("--budget", "15"))
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds a grid with other settings (budget: saved 9)" in err[0]
    args = grid_args(grid_world, module_server, pool_grid, seeds=3, extra=("--n-test", "5"))
    assert main(args) == 2  # more seeds would extend the grid, another n_test is refused
    assert "(n_test: saved 6)" in capsys.readouterr().err
    assert not (pool_grid / "cells" / "rev-a" / "dro" / "seed-2").exists()
