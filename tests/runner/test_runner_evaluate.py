"""``droiz evaluate`` / ``droiz.evaluate``: scores against a hand computation, cache, JSON, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from runner_helpers import reverse_task_file

import droiz
from droiz.cli import main
from droiz.testing import FakeOpenAIServer, parse_query, prompt_of

WORDS = ["bakomi", "tulare", "sonefi", "kitula"]


def scripted(prompt: str, body: object) -> str:
    """Right (the word reversed) except for 'kitula' everywhere and every format query."""
    _, x, group = parse_query(prompt)
    word = x.split("\n")[0].strip().lower()
    if word == "kitula" or group == "format":
        return "no idea"
    return word[::-1]


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    return reverse_task_file(tmp_path / "rev.jsonl", WORDS)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(answer=scripted) as srv:
        yield srv


def test_scores_match_a_hand_computation_and_repeats_are_free(
    task_file: Path, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    kwargs = dict(executor="openai:m", base_url=server.base_url, cache_dir=tmp_path / "c")
    result = droiz.evaluate(task_file, "Reverse the word.", **kwargs)
    # clean, case, distractor: 3 of 4 right (kitula fails); format: 0 of 4.
    assert result.per_group == {"clean": 0.75, "case": 0.75, "format": 0.0, "distractor": 0.75}
    assert result.report.mean == pytest.approx(0.5625)
    assert result.report.worst_group == 0.0 and result.report.worst_group_name == "format"
    # test mix: 0.1 on clean, 0.9 spread over case, format, distractor
    assert result.report.shifted == pytest.approx(0.1 * 0.75 + 0.3 * (0.75 + 0.0 + 0.75))
    assert len(result.examples) == 16 and server.n_requests == 16
    wrong = {(e["example_id"], e["group"]) for e in result.examples if e["score"] == 0.0}
    assert len(wrong) == 7 and all(e["prediction"] for e in result.examples)
    tokens = sum(len(prompt_of(b).split()) for b in server.bodies)
    tokens += sum(len(e["prediction"].split()) for e in result.examples)
    assert result.stats["requests"] == 16 and result.stats["cache_hits"] == 0
    assert result.stats["prompt_tokens"] + result.stats["completion_tokens"] == tokens

    again = droiz.evaluate(task_file, "Reverse the word.", **kwargs)
    assert server.n_requests == 16, "a repeated evaluation must be served from the cache"
    assert again.stats["requests"] == 0 and again.stats["cache_hits"] == 16
    assert again.per_group == result.per_group


def test_groups_and_dev_split(task_file: Path, server: FakeOpenAIServer, tmp_path: Path) -> None:
    result = droiz.evaluate(
        task_file,
        "Reverse it.",
        executor="openai:m",
        base_url=server.base_url,
        cache_dir=tmp_path / "c",
        groups="clean,case",
        split="dev",
        n=1,
    )
    assert result.groups == ["clean", "case"] and result.split == "dev"
    assert [e["group"] for e in result.examples] == ["clean", "case"]
    assert result.per_group == {"clean": 1.0, "case": 1.0}


def test_cli_prints_a_summary_and_writes_every_number(
    task_file: Path, server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out" / "ev.json"
    code = main(
        [
            "evaluate",
            "--task",
            str(task_file),
            "--instruction",
            "Reverse the word.",
            "--executor",
            "openai:m",
            "--base-url",
            server.base_url,
            "--cache-dir",
            str(tmp_path / "c"),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "worst group" in printed and "shifted mixture" in printed and "requests 16" in printed
    data = json.loads(out.read_text())
    assert data["instruction"] == "Reverse the word." and data["split"] == "test"
    assert set(data) >= {"per_group", "mean", "worst_group", "shifted", "stats", "examples"}
    assert data["per_group"]["format"] == 0.0 and len(data["examples"]) == 16
    assert data["report"]["kl_worst"]["0.1"] <= data["report"]["train_mix"]
