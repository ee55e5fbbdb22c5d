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
from droiz.llm.testing import FakeOpenAIServer

EXAMPLES = Path(__file__).resolve().parents[1] / "optim"
SRC = Path(droiz.__file__).resolve().parents[1]


def test_optimize_runs_a_plugin_method(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"engine": FAST_ENGINE, "executor_options": FAST_RETRY}))
    out = tmp_path / "run"
    argv = [
        *("optimize", "--plugin", "droiz_plugin_example", "--method", "worst-ucb"),
        *("--task", str(world_files["task"]), "--generator", f"pool:{world_files['pool']}"),
        *("--executor", "openai:world", "--base-url", world_server.base_url),
        *("--budget", "30", "--n-init", "20", "--batch-size", "10", "--n-dev", "10"),
        *("--config", str(config), "--out", str(out), "--no-progress"),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(EXAMPLES)])}
    without = subprocess.run(  # the same command without --plugin: the name is unknown
        [sys.executable, "-m", "droiz", "optimize", *argv[3:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert without.returncode == 2 and "unknown method 'worst-ucb'" in without.stderr
    done = subprocess.run(
        [sys.executable, "-m", "droiz", *argv], env=env, capture_output=True, text=True, timeout=600
    )
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
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"engine": FAST_ENGINE, "executor_options": FAST_RETRY}))
    out = tmp_path / "run"
    argv = [
        *("--task", str(world_files["task"]), "--generator", f"pool:{world_files['pool']}"),
        *("--executor", "openai:world", "--base-url", world_server.base_url, "--kernel", "matern"),
        *("--budget", "30", "--n-init", "20", "--batch-size", "10", "--n-dev", "10"),
        *("--config", str(config), "--no-progress"),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(EXAMPLES)])}

    def droiz_cli(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "droiz", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)

    plugin = ("--plugin", "droiz_plugin_example", "--method", "worst-ucb")
    stopped = droiz_cli("optimize", *plugin, *argv, "--out", str(out), "--max-requests", "250")
    assert stopped.returncode == 3, stopped.stderr[-2000:]
    saved = json.loads((out / "config.json").read_text())["settings"]
    assert saved["plugins"] == ["droiz_plugin_example"] and saved["method"] == "worst-ucb"
    # a fresh interpreter, no --plugin: the saved module is imported again
    done = droiz_cli("resume", str(out), "--no-progress", "--max-requests", "100000")
    assert done.returncode == 0, done.stderr[-2000:]
    best = read_best(out)
    assert best["method"] == "worst-ucb" and best["instruction"] and best["test"] is not None
    tells = [r for r in read_records(out) if r["type"] == "tell"]
    assert tells[-1]["summary"]["n_evaluations"] == 30
