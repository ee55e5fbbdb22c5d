"""An interrupted grid resumes: finished cells are not run again, the others complete; bad
input is one line and exit 2 before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grid_helpers import GatedServer, GridWorld, grid_args

from droiz.bench.grid import FINISHED, CellOutcome
from droiz.bench.grid_api import run_grid
from droiz.cli import main
from droiz.runner.settings.files import load_config_file
from droiz.runner.store.runs import run_info


def _journals(out: Path) -> dict[str, bytes]:
    return {
        str(p.parent.relative_to(out)): p.read_bytes()
        for p in (out / "cells").glob("*/*/seed-*/journal.jsonl")
    }


def test_an_interrupted_grid_resumes_without_rerunning_finished_cells(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "grid"
    seen: list[CellOutcome] = []

    def stop_after_the_first(outcome: CellOutcome) -> None:
        seen.append(outcome)
        raise KeyboardInterrupt  # as Ctrl-C in the driver after the first cell

    with pytest.raises(KeyboardInterrupt):
        run_grid(
            out, [str(grid_world.tasks[0])], ["random", "dro-nobo"], 2,
            config=load_config_file(grid_world.config), workers=1, on_done=stop_after_the_first,
            generator=f"pool:{grid_world.pool}", executor="openai:world",
            base_url=grid_server.base_url,
        )  # fmt: skip
    assert seen[0].status == FINISHED
    finished = {
        name: data
        for name, data in _journals(out).items()
        if run_info(out / name).status == "finished"
    }
    assert len(finished) == 1  # one worker, one cell in flight: nothing else was started
    args = grid_args(grid_world, grid_server, out, tasks=1, methods="random,dro-nobo")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count(": skipped") == len(finished)
    assert err.count(": finished") == 4 - len(finished)
    after = _journals(out)
    assert len(after) == 4 and all(run_info(out / n).status == "finished" for n in after)
    for name, data in finished.items():
        assert after[name] == data  # not run again: its journal is byte for byte the same
    assert "| rev-a | " in (out / "report.md").read_text()


def test_more_seeds_tasks_or_methods_extend_a_grid_and_reuse_its_finished_cells(
    grid_world: GridWorld, grid_server: GatedServer, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "grid"
    small = grid_args(grid_world, grid_server, out, tasks=1, methods="random", seeds=1)
    assert main(small) == 0
    first = _journals(out)
    assert list(first) == ["cells/rev-a/random/seed-0"]
    capsys.readouterr()
    bigger = grid_args(grid_world, grid_server, out, tasks=2, methods="random,dro-nobo", seeds=2)
    assert main(bigger) == 0
    err = capsys.readouterr().err
    assert err.count(": skipped") == 1 and err.count(": finished") == 7
    after = _journals(out)
    assert (
        len(after) == 8 and after["cells/rev-a/random/seed-0"] == first["cells/rev-a/random/seed-0"]
    )
    saved = json.loads((out / "grid.json").read_text())
    assert saved["seeds"] == [0, 1] and saved["methods"] == ["random", "dro-nobo"]
    assert "| rev-b | " in (out / "report.md").read_text()
    # the report is the latest command's grid: back to the small one, nothing runs
    sent = grid_server.server.n_requests
    assert main(small) == 0
    assert grid_server.server.n_requests == sent
    assert "| rev-b | " not in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("--methods", "dro,eii"), "--methods: unknown method 'eii'; did you mean 'ei'?"),
        (("--tasks", "antonymz"), "--tasks: unknown task 'antonymz'; did you mean 'antonyms'?"),
        (("--tie-margin", "-1"), "--tie-margin must be a number of points in [0, 100], got -1"),
        (("--tie-margin", "nan"), "--tie-margin must be a number of points"),
        (("--workers", "0"), "argument --workers: must be an integer in [1, 64]"),
        (("--seeds", "0"), "argument --seeds: must be an integer in [1, 10,000]"),
        (("--backend", "spark"), "--backend must be pool or ray, got 'spark'"),
        (("--track", "wandb"), "--track must be none or mlflow, got 'wandb'"),
        (("--methods", "dro,dro"), "--methods needs distinct method names"),
        (("--budget", "0"), "budget"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    grid_world: GridWorld, tmp_path: Path, capsys, extra: tuple[str, ...], expected: str
) -> None:
    class NoServer:
        base_url = "http://127.0.0.1:9/v1"

    out = tmp_path / "grid"
    args = grid_args(grid_world, NoServer(), out)  # type: ignore[arg-type]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and "Traceback" not in err[0], err
    assert not (out / "cells").exists()  # refused before any cell started


def test_a_directory_that_is_not_a_grid_is_refused(
    grid_world: GridWorld, tmp_path: Path, capsys
) -> None:
    class NoServer:
        base_url = "http://127.0.0.1:9/v1"

    out = tmp_path / "grid"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(grid_args(grid_world, NoServer(), out)) == 2  # type: ignore[arg-type]
    assert "is not empty and holds no droiz grid" in capsys.readouterr().err
