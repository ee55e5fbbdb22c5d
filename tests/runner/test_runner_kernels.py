"""The instruction-coupled kernels get what they need from the runner (per-example scores for
``coupled-scores``, journaled embeddings for ``coupled-semantic``), and replay reproduces them."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import read_best, read_records, run_settings

import droiz
from droiz.runner import replay
from droiz.testing import FakeOpenAIServer


@pytest.mark.parametrize(
    "kernel", ["coupled-scores", pytest.param("coupled-semantic", marks=pytest.mark.slow)]
)
def test_coupled_kernels_run_and_replay(
    kernel: str, world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = tmp_path / kernel
    result = droiz.optimize(out=out, **run_settings(world_files, world_server, kernel=kernel))
    assert read_best(out)["instruction"] == result.instruction
    evals = [r for r in read_records(out) if r["type"] == "eval"]
    if kernel == "coupled-semantic":
        assert all(len(r["embedding"]) == 384 for r in evals)
        same = [r for r in evals if r["instruction"] == evals[0]["instruction"]]
        assert all(r["embedding"] == evals[0]["embedding"] for r in same)
    else:
        assert all("embedding" not in r for r in evals)
    sent = world_server.n_requests
    assert replay(out).best == read_best(out)
    assert world_server.n_requests == sent


def test_the_shared_surrogate_runs_end_to_end_from_the_cli(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    import json

    from runner_helpers import FAST_ENGINE, FAST_RETRY

    from droiz.cli import main

    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"engine": FAST_ENGINE, "executor_options": FAST_RETRY}))
    out = tmp_path / "shared"
    argv = [
        *("optimize", "--surrogate", "shared", "--kernel", "matern"),
        *("--task", str(world_files["task"]), "--generator", f"pool:{world_files['pool']}"),
        *("--executor", "openai:world", "--base-url", world_server.base_url),
        *("--budget", "30", "--n-init", "20", "--batch-size", "10", "--n-dev", "10"),
        *("--config", str(config), "--out", str(out), "--no-progress"),
    ]
    assert main(argv) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["settings"]["surrogate"] == "shared"
    assert saved["resolved"]["engine"]["surrogate"] == "shared"
    tells = [r for r in read_records(out) if r["type"] == "tell"]
    assert [t["summary"]["n_evaluations"] for t in tells] == [10, 20, 30]
    assert read_best(out)["instruction"]
    sent = world_server.n_requests
    assert replay(out).best == read_best(out)  # the saved setting rebuilds the same surrogate
    assert world_server.n_requests == sent
