"""The instruction-coupled kernels get what they need from the runner (per-example scores for
``coupled-scores``, journaled embeddings for ``coupled-semantic``), and replay reproduces them."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import read_best, read_records, run_settings

import droiz
from droiz.llm.testing import FakeOpenAIServer
from droiz.runner import replay


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
