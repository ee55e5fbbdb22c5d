"""Hard caps on a whole ``optimize`` run: they bind exactly, also under faults, the run stops
cleanly with a best-so-far ``best.json``, and a resume with a higher cap ends with the same
journal as a run that never stopped."""

from __future__ import annotations

from typing import Any

import pytest
from runner_helpers import (
    matern_settings,
    measured,
    proposer_answer,
    read_best,
    read_records,
    same_run_result,
)

import droiz
from droiz.cli import main
from droiz.exceptions import ConfigError
from droiz.runner import CapReached, dry_run
from droiz.testing import FakeOpenAIServer


def _stop_and_resume(
    world, world_files, tmp_path, clean_run, cap: str, limit: float, rate: float = 0.0
) -> list[dict[str, Any]]:
    out = tmp_path / "run"
    with FakeOpenAIServer(answer=world.answer) as server:
        if rate:
            server.add_transient_faults(rate, seed=1)
        settings = matern_settings(world_files, server, cache_dir=str(tmp_path / "cache"))
        with pytest.raises(CapReached, match=f"--{cap.replace('_', '-')} cap") as info:
            droiz.optimize(out=out, **settings, **{cap: limit})
        stop = info.value
        records = read_records(out)
        assert records[-1]["type"] == "cap" and records[-1]["cap"] == cap
        best = read_best(out)
        assert best["status"] == "stopped at cap" and best["stopped_by"] == cap
        assert best["test"] is None and stop.best == best
        sent = server.n_requests
        if cap == "max_requests":
            assert sent == limit == records[-1]["used"]["budget_requests"]
        server.clear_faults()
        bigger = {cap: limit * 10**4}
        result = droiz.optimize(out=out, resume=True, **settings, **bigger)
        if not rate:  # every answer received before the stop was cached: none paid twice
            assert server.n_requests == int((clean_run / "sent").read_text())
    assert best["instruction"] is not None
    assert measured(out) == measured(clean_run)
    assert same_run_result(read_best(out), read_best(clean_run)) and result.best == read_best(out)
    return records


@pytest.mark.parametrize(
    ("limit", "rate", "phase"),
    [(237, 0.0, "eval"), (237, 0.3, "eval"), (650, 0.0, "test")],  # 600 precede the test
)
def test_max_requests_binds_exactly_and_a_higher_cap_finishes_the_run(
    world, world_files, tmp_path, clean_run, limit, rate, phase
):
    records = _stop_and_resume(world, world_files, tmp_path, clean_run, "max_requests", limit, rate)
    evals = sum(r["type"] == "eval" for r in records)  # the run's budget is 30
    assert (evals < 30) == (phase == "eval")
    assert not any(r["type"] == "test" for r in records)


def test_max_tokens_is_never_exceeded(world, world_files, tmp_path, clean_run):
    records = _stop_and_resume(world, world_files, tmp_path, clean_run, "max_tokens", 3_000)
    assert 0 < records[-1]["used"]["budget_tokens"] <= 3_000


def test_max_cost_needs_a_price_and_is_never_exceeded(world, world_files, tmp_path, clean_run):
    with FakeOpenAIServer(answer=world.answer) as server:
        settings = matern_settings(world_files, server)
        with pytest.raises(ConfigError, match=r'\[prices\] "world" = \[INPUT, OUTPUT\]'):
            droiz.optimize(out=tmp_path / "unpriced", max_cost=1.0, **settings)
    assert server.n_requests == 0 and not (tmp_path / "unpriced").exists()
    prices = {"world": [10.0, 20.0]}  # USD per 1M tokens
    out = tmp_path / "priced"
    with FakeOpenAIServer(answer=world.answer) as server:
        settings = matern_settings(world_files, server, prices=prices)
        with pytest.raises(CapReached, match=r"--max-cost cap of 0\.05 USD"):
            droiz.optimize(out=out, max_cost=0.05, **settings)
        records = read_records(out)
        assert 0 < records[-1]["used"]["budget_cost"] <= 0.05
        result = droiz.optimize(out=out, resume=True, max_cost=5.0, **settings)
    assert measured(out) == measured(clean_run) and result.stats["cost"] > 0.05


@pytest.mark.slow
def test_sixty_percent_faults_finish_unattended_with_the_same_journal(
    world, world_files, tmp_path, clean_run
):
    with FakeOpenAIServer(answer=world.answer) as server:
        server.add_transient_faults(0.6, seed=2)
        settings = matern_settings(world_files, server, cache_dir=str(tmp_path / "cache"))
        result = droiz.optimize(out=tmp_path / "run", **settings)
        sent = server.n_requests
    clean_sent = int((clean_run / "sent").read_text())
    assert result.stats["retries"] > clean_sent  # about 1.5 retries per answer at 60%
    assert sent == result.stats["requests"] == clean_sent + result.stats["retries"]
    assert measured(tmp_path / "run") == measured(clean_run)
    assert same_run_result(read_best(tmp_path / "run"), read_best(clean_run))


def test_dry_run_bounds_the_run_and_sends_nothing(world, world_files, tmp_path, clean_run):
    with FakeOpenAIServer(answer=world.answer) as server:
        settings = matern_settings(world_files, server, prices={"world": [1.0, 2.0]})
        plan = dry_run(out=tmp_path / "run", **settings)
        assert server.n_requests == 0 and not (tmp_path / "run").exists()
        result = droiz.optimize(out=tmp_path / "run", **settings)
        assert server.n_requests <= plan.requests
        assert result.stats["budget_tokens"] <= plan.tokens
        assert result.stats["cost"] <= plan.cost
        assert plan.test == 4 * 40 and plan.evaluations == 30 * 2 * 10
        again = dry_run(out=tmp_path / "run", resume=True, **settings)
    assert again.remaining == 0 and again.evaluations == 0 and again.cached > 0


def test_cli_prints_the_plan_and_stops_at_the_cap_with_exit_3(world, world_files, tmp_path, capsys):
    with FakeOpenAIServer(answer=world.answer) as server:
        s = matern_settings(world_files, server)
        args = ["optimize", "--task", s["task"], "--generator", s["generator"]]
        args += ["--executor", "openai:world", "--base-url", server.base_url, "--kernel", "matern"]
        args += ["--budget", "30", "--n-init", "20", "--batch-size", "10", "--n-dev", "10"]
        args += ["--out", str(tmp_path / "run"), "--no-progress"]
        assert main([*args, "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "requests at most: 800 (evaluations 600, verification 40, test 160)" in out
        assert server.n_requests == 0
        assert main([*args, "--max-requests", "50"]) == 3
        captured = capsys.readouterr()
        assert server.n_requests == 50
    assert "at most 800 requests" in captured.err
    assert "--resume --max-requests N" in captured.err and "Traceback" not in captured.err
    assert "stopped at the --max-requests cap" in captured.out
    assert main([*args, "--max-requests", "0"]) == 2
    assert "--max-requests must be an integer >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("cap", [3, 40])  # during generation, during the evaluations
def test_caps_count_the_requests_of_an_api_generator_too(world, world_files, tmp_path, cap):
    with FakeOpenAIServer(answer=proposer_answer(world)) as server:
        settings = matern_settings(world_files, server, method="dro-nobo", budget=12, n_init=12)
        settings["generator"] = "api:proposer"
        with pytest.raises(ConfigError, match="price of the model 'proposer'"):
            droiz.optimize(out=tmp_path / "x", max_cost=1.0, prices={"world": [1, 1]}, **settings)
        with pytest.raises(CapReached):
            droiz.optimize(out=tmp_path / "run", max_requests=cap, **settings)
        proposals = sum("I gave a friend" in str(b) for b in server.bodies)
        assert server.n_requests == cap and proposals > 0
        assert (proposals == cap) == (cap == 3)
        assert read_records(tmp_path / "run")[-1]["used"]["budget_requests"] == cap
