"""A user's executors from a plugin module run through ``droiz optimize --plugin M --executor``.

The executors are those of ``tests/llm/droiz_executor_plugin.py`` (which the executor conformance
suite also runs): ``world:small`` in process, with its own answer-length option, and
``gateway:MODEL``, an HTTP executor under a kind droiz has never heard of. The CLI runs in a
fresh interpreter, so nothing but ``--plugin`` registers them; what the runner does with each
(the endpoint, the caps, the prices, the answer limit) comes from what its class declares.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from runner_helpers import FAST_ENGINE, FAST_RETRY, read_best

import droiz
from droiz.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "llm"
SRC = Path(droiz.__file__).resolve().parents[1]
PLUGIN = ("--plugin", "droiz_executor_plugin")


def _args(world_files: dict, tmp_path: Path, executor: str, *extra: str) -> list[str]:
    """``droiz optimize`` arguments of a budget-30 run of the world with ``executor``."""
    config = tmp_path / "settings.json"
    retry = {} if executor.startswith("world:") else {"executor_options": FAST_RETRY}
    config.write_text(json.dumps({"engine": FAST_ENGINE, **retry}))
    return [
        *("optimize", *PLUGIN, "--executor", executor, *extra),
        *("--task", str(world_files["task"]), "--generator", f"pool:{world_files['pool']}"),
        *("--budget", "30", "--n-init", "20", "--batch-size", "10", "--n-dev", "10"),
        *("--kernel", "matern", "--config", str(config), "--no-progress"),
        *("--cache-dir", str(tmp_path / "cache")),
    ]


def _droiz(*args: str) -> subprocess.CompletedProcess:
    """``python -m droiz ARGS`` in a fresh interpreter that can import the plugin."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(PLUGIN_DIR)])}
    cmd = [sys.executable, "-m", "droiz", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def _completion_bound(stdout: str) -> tuple[int, int]:
    """(requests, completion tokens) of a ``--dry-run``'s plan."""
    requests = re.search(r"requests at most: (\d+)", stdout)
    completion = re.search(r"tokens at most: \d+ \(\d+ prompt, (\d+) completion\)", stdout)
    assert requests and completion, stdout
    return int(requests[1]), int(completion[1])


def test_an_in_process_plugin_executor_runs_with_its_own_answer_limit(
    world_files: dict, tmp_path: Path
) -> None:
    args = _args(world_files, tmp_path, "world:small")
    plan = _droiz(*args, "--out", str(tmp_path / "plan"), "--dry-run")
    assert plan.returncode == 0, plan.stderr[-2000:]
    requests, completion = _completion_bound(plan.stdout)
    assert completion == 8 * requests  # the class's default max_words
    short = _droiz(*args, "--out", str(tmp_path / "p2"), "--dry-run", "--max-answer-tokens", "3")
    assert _completion_bound(short.stdout) == (requests, 3 * requests)  # set as max_words
    out = tmp_path / "run"
    done = _droiz(*args, "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    best = read_best(out)
    assert best["instruction"] and best["test"] is not None
    refused = _droiz(*args, "--out", str(tmp_path / "r"), "--base-url", "http://127.0.0.1:9/v1")
    assert refused.returncode == 2 and "apply to" in refused.stderr
    assert "gateway:, openai:" in refused.stderr and len(refused.stderr.splitlines()) == 1


def test_an_http_plugin_executor_gets_the_endpoint_the_caps_and_the_prices(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    args = _args(world_files, tmp_path, "gateway:world", "--base-url", world_server.base_url)
    unpriced = _droiz(*args, "--out", str(tmp_path / "u"), "--max-cost", "1")
    assert unpriced.returncode == 2
    assert "--max-cost needs the price of the model 'world'" in unpriced.stderr
    out = tmp_path / "run"
    stopped = _droiz(*args, "--out", str(out), "--max-requests", "40")
    assert stopped.returncode == 3, stopped.stderr[-2000:]
    assert 0 < world_server.n_requests <= 40  # the run's budget reached the plugin's client
    assert all(b["model"] == "world" for b in world_server.bodies)
