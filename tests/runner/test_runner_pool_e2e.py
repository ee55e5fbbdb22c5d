"""The meaningful end-to-end test: a pool of instructions, an instruction-sensitive server.

The robust instructions are right about 80 % of the time on every group; the fragile ones are
perfect on clean inputs and fail one shift group, so they have the higher mean. DRO must pick a
robust instruction and beat random search on worst-group test accuracy at the same budget, and
replaying each journal must reproduce its best.json without a request.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from runner_helpers import read_best, read_records, run_settings

import droiz
from droiz.runner import replay
from droiz.testing import FakeOpenAIServer, InstructionWorld

SEEDS = (1, 2)


@pytest.mark.slow
def test_dro_finds_the_robust_instruction_and_beats_random(
    world: InstructionWorld, world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    worst: dict[str, list[float]] = {"dro": [], "random": []}
    for seed in SEEDS:
        for method in worst:
            out = tmp_path / f"{method}-{seed}"
            settings = run_settings(
                world_files,
                world_server,
                method=method,
                seed=seed,
                budget=60,
                n_dev=20,
                engine={},
                cache_dir=str(tmp_path / "cache"),
            )
            result = droiz.optimize(out=out, **settings)
            worst[method].append(result.test.worst_group)
            if method == "dro":
                assert world.family(result.instruction) == "robust", result.instruction
            sent = world_server.n_requests
            assert replay(out).best == read_best(out)
            assert world_server.n_requests == sent, "replay must not send requests"
    assert min(worst["dro"]) >= 0.6
    assert statistics.fmean(worst["dro"]) > statistics.fmean(worst["random"]) + 0.3


def test_run_directory_contents(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = droiz.optimize(out=out, **run_settings(world_files, world_server))
    assert {p.name for p in out.iterdir()} == {
        "config.json",
        "journal.jsonl",
        "engine-state.json",
        "best.json",
        "report.md",
        "best_so_far.png",
        "run.lock",
        "budget.jsonl",
    }
    best = read_best(out)
    assert best["instruction"] == result.instruction and best["evaluation"] >= 0
    assert set(best["test"]["per_group"]) == {"clean", "case", "format", "distractor"}
    assert best["test"]["worst_group"] == min(best["test"]["per_group"].values())
    assert best["robust_value"] == result.robust_value <= max(best["dev"].values())
    assert len(best["dev"]) == 4, "finalists are verified on every group"
    records = read_records(out)
    kinds = [r["type"] for r in records]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("eval") == 30
    assert kinds.count("ask") == kinds.count("tell") == 3 and kinds.count("test") == 1
    for rec in records:
        if rec["type"] == "eval":
            assert set(rec["scores"]) == set(rec["groups"]) and len(rec["groups"]) == 2
            assert all(len(s) == 10 for s in rec["scores"].values())
    report = (out / "report.md").read_text()
    for heading in (
        "## Settings",
        "## Best instruction",
        "worst-case weights per round",
        "## Rounds",
        "## LLM usage",
    ):
        assert heading in report
    assert (out / "best_so_far.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.stats["requests"] == world_server.n_requests


def test_identical_instructions_are_never_paid_twice(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    droiz.optimize(out=tmp_path / "run", **run_settings(world_files, world_server, finalists=0))
    records = read_records(tmp_path / "run")
    measured = [(r["instruction"], g) for r in records if r["type"] == "eval" for g in r["paid"]]
    assert len(measured) == len(set(measured))
    prompts = [droiz.testing.prompt_of(b) for b in world_server.bodies]
    assert len(prompts) == len(set(prompts)), "no query may be sent twice"
    n_test = sum(read_best(tmp_path / "run")["test"]["n_examples"].values())
    assert world_server.n_requests == 10 * len(measured) + n_test


def test_api_key_never_reaches_the_run_directory(
    world_files: dict,
    world_server: FakeOpenAIServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "sk-secret-0123456789"
    monkeypatch.setenv("MY_KEY", secret)
    caplog.set_level("DEBUG")
    settings = run_settings(world_files, world_server, api_key_env="MY_KEY")
    droiz.optimize(out=tmp_path / "run", **settings)
    assert world_server.auth_headers[0] == f"Bearer {secret}", "the key must be used"
    for path in (tmp_path / "run").iterdir():
        assert secret.encode() not in path.read_bytes(), path.name
    assert secret not in caplog.text
    assert '"api_key_env": "MY_KEY"' in (tmp_path / "run" / "config.json").read_text()
