"""``--answer-filter``: filters change the scores, never the cached answers or the journal's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runner_helpers import read_best, read_records, reverse_task_file, run_settings

import droiz
from droiz.cli import main
from droiz.runner import replay
from droiz.testing import FakeOpenAIServer, InstructionWorld, parse_query

WORDS = ["bakomi", "tulare", "sonefi"]


def chatty(prompt: str, body: object) -> str:
    """A chat model's way of answering right: a sentence with the reversed word in quotes."""
    _, x, _ = parse_query(prompt)
    return f'The reversed word is "{x.split(chr(10))[0].strip().lower()[::-1]}".\nHope it helps!'


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    return reverse_task_file(tmp_path / "rev.jsonl", WORDS)


def test_evaluate_filter_rescoring_is_free_and_keeps_raw_answers(
    task_file: Path, tmp_path: Path
) -> None:
    with FakeOpenAIServer(answer=chatty) as server:
        kwargs: dict[str, Any] = dict(
            executor="openai:m", base_url=server.base_url, cache_dir=tmp_path / "c", groups="clean"
        )
        raw = droiz.evaluate(task_file, "Reverse the word.", **kwargs)
        assert raw.report.mean == 0.0 and raw.answer_filter is None
        assert server.n_requests == 3 and "filtered" not in raw.examples[0]
        chat = droiz.evaluate(task_file, "Reverse the word.", answer_filter="chat-answer", **kwargs)
        assert server.n_requests == 3, "changing the filter must not re-ask"
        assert chat.stats["requests"] == 0 and chat.stats["cache_hits"] == 3
        assert chat.report.mean == 1.0 and chat.answer_filter == "chat-answer"
        first = chat.examples[0]
        assert first["prediction"].startswith("The reversed word is")
        assert first["filtered"] == WORDS[0][::-1]
        listed = droiz.evaluate(
            task_file, "Reverse the word.", answer_filter=["first-line", "last-quoted"], **kwargs
        )
        assert listed.report.mean == 1.0 and listed.answer_filter == "first-line,last-quoted"


def test_optimize_second_run_with_another_filter_sends_no_request(
    world: InstructionWorld, world_files: dict, tmp_path: Path
) -> None:
    def wrapped(prompt: str, body: Any = None) -> str:
        return f'The answer is "{world.answer(prompt, body)}".'

    cache = str(tmp_path / "cache")
    with FakeOpenAIServer(answer=wrapped) as server:
        extra = dict(budget=10, n_init=10, batch_size=10, n_dev=5, n_test=5, kernel="matern")
        settings = run_settings(world_files, server, cache_dir=cache, **extra)
        filtered = droiz.optimize(out=tmp_path / "chat", answer_filter="chat-answer", **settings)
        sent = server.n_requests
        assert sent > 0 and filtered.test.mean > 0.0
        # the same answers under another filter chain that extracts the same words
        other = droiz.optimize(out=tmp_path / "after", answer_filter=["after-is"], **settings)
        assert server.n_requests == sent, "re-scoring with another filter must not re-ask"
        assert other.stats["requests"] == 0 and other.stats["cache_hits"] > 0
        assert other.best["answer_filter"] == "after-is"
        assert other.test.per_group == filtered.test.per_group
        mine, theirs = filtered.best["fingerprints"], other.best["fingerprints"]
        assert mine["executor"] == theirs["executor"] and mine["scoring"] != theirs["scoring"]
        assert mine["scoring"].startswith("score:em#")
    best = read_best(tmp_path / "chat")
    assert best["answer_filter"] == "chat-answer"
    fingerprints = best["fingerprints"]
    assert fingerprints["generator"].startswith("pool:") and "#" in fingerprints["generator"]
    assert fingerprints["executor"].startswith("openai:world")
    assert "answer filter | `chat-answer`" in (tmp_path / "chat" / "report.md").read_text()
    evals = [r for r in read_records(tmp_path / "chat") if r["type"] == "eval"]
    for record in evals:
        assert set(record["answers"]) == set(record["scores"])
        for group, answers in record["answers"].items():
            assert len(answers) == len(record["scores"][group])
            assert all(a.startswith("The answer is") for a in answers)
    test = next(r for r in read_records(tmp_path / "chat") if r["type"] == "test")
    assert all(a.startswith("The answer is") for g in test["answers"].values() for a in g)
    assert replay(tmp_path / "chat").best == best


def test_evaluate_cli_names_the_filter_and_rejects_unknown_ones(
    task_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with FakeOpenAIServer(answer=chatty) as server:
        argv = ["evaluate", "--task", str(task_file), "--instruction", "Reverse the word."]
        argv += ["--executor", "openai:m", "--base-url", server.base_url]
        argv += ["--cache-dir", str(tmp_path / "c"), "--groups", "clean"]
        assert main([*argv, "--answer-filter", "chat-answer"]) == 0
        out = capsys.readouterr().out
        assert "answer filter: chat-answer" in out and "100.0 %" in out
        assert main([*argv, "--answer-filter", "first-lin"]) == 2
        err = capsys.readouterr().err.strip()
        assert "did you mean 'first-line'" in err and len(err.splitlines()) == 1
