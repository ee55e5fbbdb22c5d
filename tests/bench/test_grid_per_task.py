"""Per-task settings of ``droiz bench grid`` (a config's ``per_task`` tables: each task its own
pool, answer filter, budget, ...) and ``--dry-run`` (the bounds of every unfinished cell,
nothing sent, nothing written)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from grid_helpers import GatedServer, GridWorld, grid_args

from droiz.bench.grid_api import plan_grid
from droiz.cli import main
from droiz.runner.settings.files import load_config_file


def _config(out: Path, gw: GridWorld, per_task: str) -> Path:
    path = out.parent / "cells-per-task.toml"
    path.write_text(gw.config.read_text() + "\n" + per_task)
    return path


def _saved(out: Path, task: str, seed: int = 0) -> dict:
    path = out / "cells" / task / "random" / f"seed-{seed}" / "config.json"
    return json.loads(path.read_text())["settings"]


def _with_config(args: list[str], config: Path) -> list[str]:
    i = args.index("--config")
    return [*args[: i + 1], str(config), *args[i + 2 :]]


def test_per_task_tables_set_one_tasks_cells_and_flags_still_win(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "grid"
    config = _config(
        out, grid_world,
        '[per_task.rev-b]\nbudget = 7\nanswer_filter = "strip"\nfinalists = 2\n',
    )  # fmt: skip
    args = _with_config(grid_args(grid_world, grid_server, out, methods="random", seeds=1), config)
    assert main([*args, "--finalists", "1"]) == 0, capsys.readouterr().err[-2000:]
    a, b = _saved(out, "rev-a"), _saved(out, "rev-b")
    assert (a["budget"], b["budget"]) == (9, 7)  # the shared budget, rev-b's own
    assert b["answer_filter"] == "strip" and a["answer_filter"] != "strip"
    assert a["finalists"] == b["finalists"] == 1  # the flag overrides the per-task table
    evals = [
        json.loads(line)
        for line in (out / "cells/rev-b/random/seed-0/journal.jsonl").read_text().splitlines()
    ]
    assert sum(r["type"] == "eval" for r in evals) == 7
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert sum(int(r["requests"]) for r in rows) == grid_server.server.n_requests  # spend
    report = (out / "report.md").read_text()
    assert "- per-task settings (over the ones above): rev-b: answer_filter `strip`" in report
    assert f"| **all** | 2 | {grid_server.server.n_requests} | 0.0000 |" in report
    saved = json.loads((out / "grid.json").read_text())
    assert saved["per_task"] == {
        str(grid_world.tasks[1]): {"budget": 7, "answer_filter": "strip", "finalists": 2}
    }

    # another per-task table is another grid: refused with one line before anything runs
    sent = grid_server.server.n_requests
    other = _config(out, grid_world, "[per_task.rev-b]\nbudget = 8\n")
    capsys.readouterr()
    assert main(_with_config(args, other)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and "other settings (answer_filter: saved 'strip', budget: saved 7)" in err[0]
    )
    assert grid_server.server.n_requests == sent


@pytest.mark.parametrize(
    ("top", "table", "message"),
    [
        ("", "[per_task.rev-c]\nbudget = 7\n", "unknown task of --tasks 'rev-c'"),
        ("", "[per_task.rev-a]\nbudgte = 7\n", "did you mean 'budget'"),
        ("", "[per_task.rev-a]\nseed = 3\n", "cannot set 'seed': it is a grid axis"),
        ("per_task = 3\n", "", "per_task must be a table"),
        # values a flag overrides are checked all the same
        ("", '[per_task.rev-a]\nbudget = "x"\n', "error: the config: budget must be an integer"),
        ("", '[per_task.rev-a]\ngenerator = "pool:missing.txt"\n', "'missing.txt'"),
        ("", "[per_task.rev-a]\nn_init = true\n", "n_init must be an integer"),
        # the grid's axes are flags, not settings of a config
        ('method = "ei"\n', "", "sets 'method', a grid axis: give it with --methods"),
        ("seed = 5\n", "", "sets 'seed', a grid axis: give it with --seeds"),
    ],
)
def test_bad_per_task_tables_are_one_line_exit_2(
    grid_world: GridWorld, tmp_path: Path, capsys, top: str, table: str, message: str
) -> None:
    class NoServer:
        base_url = "http://127.0.0.1:9/v1"

    out = tmp_path / "grid"
    path = tmp_path / "bad.toml"
    path.write_text(top + grid_world.config.read_text() + "\n" + table)  # TOML: keys first
    args = _with_config(grid_args(grid_world, NoServer(), out), path)  # type: ignore[arg-type]
    args += ["--budget", "9", "--n-init", "5"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_dry_run_bounds_every_unfinished_cell_and_sends_nothing(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "grid"
    args = grid_args(grid_world, grid_server, out, methods="random,dro-nobo", seeds=1)
    assert main([*args, "--dry-run"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    cells = [line for line in lines if line.startswith("rev-")]
    assert len(cells) == 4 and all("9 evaluations to run" in line for line in cells)
    assert "dry run: 4 unfinished cell(s)" in lines[-2]
    assert grid_server.server.n_requests == 0 and not out.exists()  # nothing sent or written

    plans = plan_grid(
        out, [str(t) for t in grid_world.tasks], ["random", "dro-nobo"], 1,
        config=load_config_file(grid_world.config), generator=f"pool:{grid_world.pool}",
        executor="openai:world", base_url=grid_server.base_url,
    )  # fmt: skip
    total = sum(p.requests for _, p in plans)
    assert f"at most {total} requests" in lines[-2]
    assert main(args) == 0
    assert 0 < grid_server.server.n_requests <= total  # the bound holds
    capsys.readouterr()
    assert main([*args, "--dry-run"]) == 0
    assert "dry run: 0 unfinished cell(s); at most 0 requests" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "100000"], "argument --workers: must be an integer in [1, 64]"),
        (["--seeds", "1000000000"], "argument --seeds: must be an integer in [1, 10,000]"),
    ],
)
def test_grid_counts_are_bounded(
    grid_world: GridWorld, tmp_path: Path, capsys, extra: list[str], message: str
) -> None:
    class NoServer:
        base_url = "http://127.0.0.1:9/v1"

    out = tmp_path / "grid"
    assert main([*grid_args(grid_world, NoServer(), out), *extra]) == 2  # type: ignore[arg-type]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()
    from droiz.bench.grid_api import run_grid
    from droiz.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"--workers must be an integer in \[1, 64\]"):
        run_grid(out, [str(grid_world.tasks[0])], ["random"], 1, workers=100_000)


def test_every_task_file_is_read_before_any_cell_runs(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad.jsonl"
    rows = grid_world.tasks[0].read_text().splitlines()
    bad.write_text("\n".join([*rows[:-1], '{"input": "abc", "output": ""}']) + "\n")
    out = tmp_path / "grid"
    args = grid_args(grid_world, grid_server, out, tasks=1, methods="random", seeds=1)
    args[args.index("--tasks") + 1] += f",{bad}"
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"line {len(rows)}: field 'output' has an empty gold" in err[0], err
    assert grid_server.server.n_requests == 0 and not out.exists()  # the first task's cell too
