"""One pass where there were two or three, seen from outside: a resume reads the journal file
once and verifies the finalists once, a refused resume builds nothing, no prompt is sent twice and
a repeat is served from the cache, one report implementation, one declaration of the counters."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import matern_settings, measured, read_best, read_records, same_run_result

import droiz
from droiz.cli import main
from droiz.llm.stats import COUNTERS, LLMStats, StatsSnapshot
from droiz.runner import CapReached, JournalError
from droiz.runner.problem import composite_report
from droiz.tasks import summarize
from droiz.tasks.evaluation import test_mix, train_mix
from droiz.testing import FakeOpenAIServer

_OPENED: list[list[tuple[str, str]]] = []
"""Where :func:`_files_opened` collects the ``open`` audit events (while one is active)."""


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _OPENED and isinstance(args[0], str | os.PathLike):
        _OPENED[-1].append((os.fspath(args[0]), str(args[1])))


sys.addaudithook(_on_audit)  # audit hooks cannot be removed; inactive outside the block


@contextmanager
def _files_opened() -> Iterator[list[tuple[str, str]]]:
    """``(path, mode)`` of every file the process opens with ``open`` inside the block."""
    _OPENED.append([])
    try:
        yield _OPENED[-1]
    finally:
        _OPENED.pop()


def _prompts(server: FakeOpenAIServer) -> list[str]:
    return [b["messages"][-1]["content"] if "messages" in b else b["prompt"] for b in server.bodies]


def test_a_resume_reads_the_journal_once_and_verifies_the_finalists_once(
    world_files, world_server, clean_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(CapReached):
        droiz.optimize(out=out, **settings, max_requests=150)
    location = ["--base-url", settings["base_url"], "--cache-dir", settings["cache_dir"]]
    with _files_opened() as opened:
        # droiz resume DIR: the alias of droiz optimize --out DIR --resume
        assert (
            main(["resume", str(out), *location, "--max-requests", "100000", "--no-progress"]) == 0
        )
    journal = str(out / "journal.jsonl")
    reads = [mode for path, mode in opened if path == journal and "r" in mode and "+" not in mode]
    assert len(reads) == 1  # and the records appended after it are written, not read back
    verified = [r for r in read_records(out) if r["type"] == "verified"]
    clean = [r for r in read_records(clean_run) if r["type"] == "verified"]
    assert [r["finalists"] for r in verified] == [r["finalists"] for r in clean]
    prompts = _prompts(world_server)  # the capped session and the resume together
    assert len(prompts) == len(set(prompts)) == int((clean_run / "sent").read_text())
    assert measured(out) == measured(clean_run)  # and the run is still the same run
    assert same_run_result(read_best(out), read_best(clean_run))


def test_a_refused_resume_builds_no_backend(tmp_path: Path, world_files, world_server) -> None:
    out = tmp_path / "run"
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(CapReached):
        droiz.optimize(out=out, **settings, max_requests=1)
    journal = out / "journal.jsonl"
    journal.write_text('{"type": "start", "version": 99, "droiz_version": "9.9"}\n')
    sent, other_cache = world_server.n_requests, tmp_path / "other-cache"
    with pytest.raises(JournalError, match=r"journal format 99, written by droiz 9\.9"):
        droiz.optimize(out=out, resume=True, cache_dir=str(other_cache))
    assert not other_cache.exists()  # the response cache is the first backend built
    assert world_server.n_requests == sent
    assert journal.read_text() == '{"type": "start", "version": 99, "droiz_version": "9.9"}\n'


def test_no_prompt_is_sent_twice_and_a_repeat_comes_from_the_cache(
    world_files, world_server, tmp_path: Path
) -> None:
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    first = droiz.optimize(out=tmp_path / "first", **settings)
    prompts, sent = _prompts(world_server), world_server.n_requests
    assert len(prompts) == len(set(prompts)) == sent == first.stats["requests"]
    records = read_records(tmp_path / "first")
    paid = [r["requests"]["sent"] for r in records if r["type"] in ("eval", "verify")]
    test = next(r for r in records if r["type"] == "test")
    assert sum(paid) + test["stats"]["requests"] == sent  # each request is paid by one record
    world_server.reset_counts()
    again = droiz.optimize(out=tmp_path / "again", **settings)  # the same run, the same cache
    assert world_server.n_requests == 0
    assert again.stats["cache_hits"] == sent and again.stats["cache_misses"] == 0
    records = read_records(tmp_path / "again")
    evals = [r["requests"] for r in records if r["type"] in ("eval", "verify")]
    assert all(r["sent"] == 0 for r in evals) and sum(r["cache_hits"] for r in evals) == sum(paid)
    assert measured(tmp_path / "again") == measured(tmp_path / "first")


def test_composite_report_is_summarize_with_other_mixes() -> None:
    acc = {"clean": 0.9, "case": 0.5, "format": 0.2}
    names = list(acc)
    assert composite_report(acc, train_mix(names), test_mix(names)) == summarize(acc)
    both = {"a/clean": 1.0, "a/case": 0.0, "b/clean": 0.5, "b/case": 0.5}
    train = {"a/clean": 0.25, "a/case": 0.25, "b/clean": 0.25, "b/case": 0.25}
    test = {"a/clean": 0.05, "a/case": 0.45, "b/clean": 0.05, "b/case": 0.45}
    report = composite_report(both, train, test)
    assert report == summarize(both, train=train, test=test)
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
