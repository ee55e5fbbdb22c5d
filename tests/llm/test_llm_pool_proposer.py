"""PoolGenerator's nearest-neighbour map and APIProposer's deterministic proposals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from droiz.exceptions import ConfigError
from droiz.llm import APIProposer, OpenAIExecutor, PoolGenerator, RetryPolicy, load_pool
from droiz.testing import FakeOpenAIServer

POOL = [f"Instruction number {i}." for i in range(8)]


def _z(n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 10, generator=gen, dtype=torch.float64) * 2 - 1


def test_pool_maps_to_the_nearest_projected_anchor():
    pool = PoolGenerator(POOL, seed=3, proj_dim=2)
    z = _z(200)
    got = pool.indices(z)
    proj = pool.projection
    for k in range(z.shape[0]):  # brute force, one row at a time
        dists = [float(((z[k] - a) @ proj).norm()) for a in pool.anchors]
        assert got[k] == min(range(len(POOL)), key=dists.__getitem__)
    assert pool.generate(z[:5], []) == [POOL[i] for i in got[:5].tolist()]
    assert len(set(got.tolist())) >= 4  # the space is shared among many instructions


def test_every_anchor_maps_to_its_own_instruction():
    pool = PoolGenerator(POOL, seed=1)
    assert pool.generate(pool.anchors, []) == POOL


def test_pool_is_deterministic_per_seed_and_fingerprinted():
    z = _z(50, seed=1)
    a, b, c = PoolGenerator(POOL, seed=0), PoolGenerator(POOL, seed=0), PoolGenerator(POOL, seed=1)
    assert torch.equal(a.indices(z), b.indices(z)) and a.fingerprint == b.fingerprint
    assert not torch.equal(a.indices(z), c.indices(z)) and a.fingerprint != c.fingerprint
    assert PoolGenerator(POOL[:-1]).fingerprint != a.fingerprint


def test_pool_files(tmp_path):
    text = tmp_path / "pool.txt"
    text.write_text("  first one \n\nsecond one\n")
    js = tmp_path / "pool.json"
    js.write_text(json.dumps(["a", " b ", ""]))
    assert load_pool(text) == ["first one", "second one"]
    assert load_pool(js) == ["a", "b"]
    assert PoolGenerator(str(text)).instructions == ["first one", "second one"]
    (tmp_path / "bad.json").write_text('{"not": "a list"}')
    with pytest.raises(ConfigError, match="JSON list"):
        load_pool(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="cannot read"):
        load_pool(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ConfigError, match="empty"):
        PoolGenerator(tmp_path / "empty.txt")


def _proposer_server() -> FakeOpenAIServer:
    # Answers name the first demo input and the sample, like "The instruction was to use d3 (s1)".
    def answer(prompt: str, body: dict) -> str:
        first = prompt.split("Input: ", 1)[1].split("\n", 1)[0]
        return f"The instruction was to use {first} (t={body['temperature']}). Extra text."

    return FakeOpenAIServer(answer)


DEMOS = [(f"d{i}", f"o{i}") for i in range(12)]


def test_proposer_plan_is_deterministic_and_local():
    with _proposer_server() as srv:
        ex = OpenAIExecutor("m", base_url=srv.base_url)
        prop = APIProposer(executor=ex, n_demos=4, n_samples=4, seed=5)
        z = _z(30, seed=2)
        plans = prop.plan(z, len(DEMOS))
        assert plans == APIProposer(executor=ex, n_demos=4, n_samples=4, seed=5).plan(z, 12)
        assert all(len(order) == 4 and len(set(order)) == 4 for order, _ in plans)
        assert len({tuple(o) for o, _ in plans}) > 10  # different z, different demo subsets
        assert {s for _, s in plans} == {0, 1, 2, 3}
        near = prop.plan(z[:1] + 1e-9, 12)
        assert near == plans[:1]
        assert APIProposer(executor=ex, seed=6, n_demos=4).plan(z, 12) != plans


def test_proposer_generates_through_the_cache_with_sample_indices(cache):
    with _proposer_server() as srv:
        retry = RetryPolicy(base_delay=0.001)
        ex = OpenAIExecutor("m", base_url=srv.base_url, temperature=0.7, retry=retry)
        prop = APIProposer(executor=ex, cache=cache, n_demos=3, n_samples=2)
        z = torch.cat([_z(6, seed=3), _z(6, seed=3)[:2]])
        out = prop.generate(z, DEMOS)
        plans = prop.plan(z, len(DEMOS))
        assert out == [f"use {DEMOS[o[0]][0]} (t=0.7)." for o, _ in plans]
        sent = srv.n_requests
        assert sent == len({(tuple(o), s) for o, s in plans})  # identical requests sent once
        assert (
            APIProposer(executor=ex, cache=cache, n_demos=3, n_samples=2).generate(z, DEMOS) == out
        )
        assert srv.n_requests == sent
        assert {b["temperature"] for b in srv.bodies} == {0.7}


def test_proposer_needs_a_model_or_executor():
    with pytest.raises(ConfigError, match="api:MODEL"):
        APIProposer()


def test_a_pool_that_is_not_a_regular_file_is_one_line_at_once(tmp_path):
    from droiz.testing import InstructionWorld

    fifo = tmp_path / "pool.fifo"
    os.mkfifo(fifo)  # reading a named pipe waits for a writer: never open it
    task = InstructionWorld("small").write_task(tmp_path / "t.jsonl")
    args = ["optimize", "--task", str(task), "--generator", f"pool:{fifo}"]
    args += ["--executor", "openai:m", "--base-url", "http://127.0.0.1:9/v1"]
    args += ["--out", str(tmp_path / "run")]
    command = [sys.executable, "-m", "droiz.cli", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert f"cannot read the instruction pool {str(fifo)!r}: not a regular file" in lines[0]
    with pytest.raises(ConfigError, match="not a regular file"):
        load_pool(tmp_path)  # a directory neither
