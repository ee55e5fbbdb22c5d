"""A cell whose worker process dies on every attempt is reported ``lost`` (rerun the grid to
resume it) on both backends, after RETRIES + 1 attempts; the grid itself survives. The worker
dies for real: the cell's ``--plugin`` module calls ``os._exit(1)`` when the worker imports it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from droiz.bench.grid import LOST, Cell
from droiz.bench.grid_backends import RETRIES, run_cells


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["pool", "ray"])
def test_a_cell_whose_worker_always_dies_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, backend: str
) -> None:
    if backend == "ray":
        request.getfixturevalue("local_ray")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "droiz_test_worker_dies.py").write_text("import os\n\nos._exit(1)\n")
    monkeypatch.syspath_prepend(str(plugins))  # spawn workers get the parent's sys.path
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])
    )
    run_dir = tmp_path / "cell"
    cell = Cell("t", "t", "random", 0, str(run_dir), {}, {}, ("droiz_test_worker_dies",))
    seen = []
    [outcome] = run_cells([cell], backend=backend, workers=1, on_done=seen.append)
    assert outcome.status == LOST, outcome
    assert f"died {RETRIES + 1} times; rerun the grid to resume it" in outcome.message
    assert seen == [outcome]
    assert not run_dir.exists()  # it died before writing anything
