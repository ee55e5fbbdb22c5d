"""One pass where there were two or three: one journal read per resume, one cache lookup per
request, finalists ranked once, one report implementation, one declaration of the counters."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from runner_helpers import matern_settings, measured, read_best, same_run_result

import droiz
import droiz.runner.finalize as finalize
import droiz.runner.journal as journal_module
import droiz.runner.problem as problem_module
import droiz.runner.study as study_module
from droiz.cli import main
from droiz.llm import ResponseCache
from droiz.llm.backends import build_executor
from droiz.llm.stats import COUNTERS, LLMStats, StatsSnapshot
from droiz.runner import CapReached, JournalError, resolve_config
from droiz.runner.outcomes import Outcome, ScoreBook
from droiz.runner.problem import Problem, composite_report
from droiz.tasks import summarize
from droiz.tasks.evaluation import test_mix, train_mix


def test_a_resume_reads_the_journal_once_and_ranks_the_finalists_once(
    world_files, world_server, clean_run: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "run"
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(CapReached):
        droiz.optimize(out=out, **settings, max_requests=150)
    reads: list[Path] = []
    real_read = journal_module._read_bytes
    monkeypatch.setattr(journal_module, "_read_bytes", lambda p: (reads.append(p), real_read(p))[1])
    ranks = []
    real_rank = finalize.rank_instructions

    def rank(*args):
        ranks.append(1)
        return real_rank(*args)

    monkeypatch.setattr(finalize, "rank_instructions", rank)
    monkeypatch.setattr(study_module, "rank_instructions", rank)
    location = ["--base-url", settings["base_url"], "--cache-dir", settings["cache_dir"]]
    # droiz resume DIR: the alias of droiz optimize --out DIR --resume
    assert main(["resume", str(out), *location, "--max-requests", "100000", "--no-progress"]) == 0
    assert reads == [out / "journal.jsonl"]
    assert len(ranks) == 1
    assert measured(out) == measured(clean_run)  # and the run is still the same run
    assert same_run_result(read_best(out), read_best(clean_run))


def test_a_refused_resume_builds_no_backend(tmp_path: Path, world_files, world_server, monkeypatch):
    out = tmp_path / "run"
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(CapReached):
        droiz.optimize(out=out, **settings, max_requests=1)
    journal = out / "journal.jsonl"
    journal.write_text('{"type": "start", "version": 99, "droiz_version": "9.9"}\n')

    def no_backends(*args, **kwargs):
        raise AssertionError("backends built before the journal was checked")

    monkeypatch.setattr(study_module, "build_backends", no_backends)
    with pytest.raises(JournalError, match=r"journal format 99, written by droiz 9\.9"):
        droiz.optimize(out=out, resume=True)


def test_each_request_costs_one_cache_lookup(world_files, world_server, tmp_path: Path) -> None:
    config = resolve_config(matern_settings(world_files, world_server, n_dev=4))
    problem = Problem(config)
    cache = ResponseCache(tmp_path / "cache")
    looked_up: list[int] = []
    real_get_many = cache.get_many

    def get_many(keys):
        keys = list(keys)
        looked_up.append(len(keys))
        return real_get_many(keys)

    cache.get_many = get_many  # type: ignore[method-assign]
    executor = build_executor("openai:world", cache=cache, base_url=world_server.base_url)
    text = "Write the word backwards."

    def outcomes() -> list[Outcome]:  # one instruction, two evaluations sharing group 1
        return [Outcome(1, 0, 0, [0.0], text, [0, 1]), Outcome(1, 1, 1, [0.1], text, [1, 2])]

    n = 3 * 4  # three distinct measurements of four dev examples
    first = study_module.RoundExecution(problem, executor, ScoreBook(), lambda o: None)
    done = first.run(outcomes())
    assert looked_up == [n] and world_server.n_requests == n
    assert sum(o.sent for o in done) == n and sum(o.cache_hits for o in done) == 0
    looked_up.clear()
    again = study_module.RoundExecution(problem, executor, ScoreBook(), lambda o: None)
    done = again.run(outcomes())
    assert looked_up == [n] and world_server.n_requests == n  # all from the cache
    assert sum(o.cache_hits for o in done) == n and sum(o.sent for o in done) == 0
    cache.close()


def test_composite_report_is_summarize_with_other_mixes(monkeypatch) -> None:
    acc = {"clean": 0.9, "case": 0.5, "format": 0.2}
    names = list(acc)
    assert composite_report(acc, train_mix(names), test_mix(names)) == summarize(acc)
    calls = []
    real = problem_module.summarize
    monkeypatch.setattr(
        problem_module, "summarize", lambda *a, **k: (calls.append(k), real(*a, **k))[1]
    )
    both = {"a/clean": 1.0, "a/case": 0.0, "b/clean": 0.5, "b/case": 0.5}
    train = {"a/clean": 0.25, "a/case": 0.25, "b/clean": 0.25, "b/case": 0.25}
    test = {"a/clean": 0.05, "a/case": 0.45, "b/clean": 0.05, "b/case": 0.45}
    report = composite_report(both, train, test)
    assert len(calls) == 1 and calls[0]["train"] == train
    assert report.shifted == pytest.approx(0.05 + 0.025 + 0.225)
    assert report.train_mix == pytest.approx(0.5) and report.worst_group_name == "a/case"
    half = composite_report({"a/clean": 1.0, "a/case": 0.0}, train, test)  # renormalised
    assert half.shifted == pytest.approx(0.1) and half.train_mix == pytest.approx(0.5)


def test_llmstats_counters_are_the_snapshot_fields() -> None:
    assert tuple(f.name for f in dataclasses.fields(StatsSnapshot)) == COUNTERS
    assert not dataclasses.is_dataclass(LLMStats)  # no second declaration to keep in step
    stats = LLMStats(requests=2)
    stats.add(cost=0.5, retries=1)
    assert stats.snapshot() == StatsSnapshot(requests=2, retries=1, cost=0.5)
    assert (stats.requests, stats.cache_hits) == (2, 0)
    with pytest.raises(AttributeError):
        stats.add(nosuch=1)
    with pytest.raises(TypeError):
        LLMStats(nosuch=1)
