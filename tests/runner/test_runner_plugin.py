"""A user's method from a plugin module runs through ``droiz optimize --plugin M --method NAME``.

The method is ``worst-ucb`` of ``tests/optim/droiz_plugin_example.py`` (which the conformance
suite also runs). The CLI runs in a fresh interpreter, so nothing but ``--plugin`` registers it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runner_helpers import FAST_ENGINE, FAST_RETRY, read_best, read_records

import droiz
from droiz.cli import main
from droiz.testing import FakeOpenAIServer

EXAMPLES = Path(__file__).resolve().parents[1] / "optim"
SRC = Path(droiz.__file__).resolve().parents[1]


def _world_args(
    world_files: dict, server: FakeOpenAIServer, tmp_path: Path, *extra: str
) -> list[str]:
    """``droiz optimize`` arguments of a budget-30 run of the world (no ``--out``)."""
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"engine": FAST_ENGINE, "executor_options": FAST_RETRY}))
    return [
        *("--task", str(world_files["task"]), "--generator", f"pool:{world_files['pool']}"),
        *("--executor", "openai:world", "--base-url", server.base_url, *extra),
        *("--budget", "30", "--n-init", "20", "--batch-size", "10", "--n-dev", "10"),
        *("--config", str(config), "--no-progress"),
    ]


def _droiz(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m droiz ARGS`` in a fresh interpreter that can import the example plugin."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(EXAMPLES)])}
    cmd = [sys.executable, "-m", "droiz", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def test_optimize_runs_a_plugin_method(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = [
        *("optimize", "--plugin", "droiz_plugin_example", "--method", "worst-ucb"),
        *_world_args(world_files, world_server, tmp_path),
        *("--out", str(out)),
    ]
    without = _droiz("optimize", *argv[3:], timeout=300)  # without --plugin: the name is unknown
    assert without.returncode == 2 and "unknown method 'worst-ucb'" in without.stderr
    done = _droiz(*argv)
    assert done.returncode == 0, done.stderr[-2000:]
    best = read_best(out)
    assert best["method"] == "worst-ucb" and best["instruction"]
    tells = [r for r in read_records(out) if r["type"] == "tell"]
    assert [t["summary"]["n_evaluations"] for t in tells] == [10, 20, 30]
    assert tells[-1]["summary"]["selection"] == "robust"  # the method's own final pick


def test_a_plugin_that_cannot_be_imported_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture,
) -> None:
    code = main(["optimize", "--plugin", "no_such_droiz_plugin", "--out", "x", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--plugin no_such_droiz_plugin" in err and len(err.splitlines()) == 1


def test_resume_imports_the_saved_plugin_again(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = _world_args(world_files, world_server, tmp_path, "--kernel", "matern")
    plugin = ("--plugin", "droiz_plugin_example", "--method", "worst-ucb")
    stopped = _droiz("optimize", *plugin, *argv, "--out", str(out), "--max-requests", "250")
    assert stopped.returncode == 3, stopped.stderr[-2000:]
    saved = json.loads((out / "config.json").read_text())["settings"]
    assert saved["plugins"] == ["droiz_plugin_example"] and saved["method"] == "worst-ucb"
    # a fresh interpreter, no --plugin: the saved module is imported again
    done = _droiz("resume", str(out), "--no-progress", "--max-requests", "100000")
    assert done.returncode == 0, done.stderr[-2000:]
    best = read_best(out)
    assert best["method"] == "worst-ucb" and best["instruction"] and best["test"] is not None
    tells = [r for r in read_records(out) if r["type"] == "tell"]
    assert tells[-1]["summary"]["n_evaluations"] == 30
