"""End to end with a tiny local Hugging Face model as ``hf:`` generator and a loopback executor:
the run finishes and writes its directory; the same run again costs zero requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import read_best, read_records

from droiz.cli import main
from droiz.testing import FakeOpenAIServer, build_tiny_llama


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def test_tiny_hf_generator_runs_to_the_end_and_a_second_run_is_free(
    tiny_model: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = tmp_path / "settings.json"
    config.write_text(
        '{"n-dev": 3, "n_test": 5, "n_demos": 3, "generator_options": {"max_new_tokens": 12},'
        ' "engine": {"cma_starts": 4, "cma_popsize": 10, "cma_generations": 3}}'
    )
    with FakeOpenAIServer() as server:

        def run(out: str) -> int:
            return main(
                [
                    "optimize",
                    "--task",
                    "antonyms",
                    "--generator",
                    f"hf:{tiny_model}",
                    "--executor",
                    "openai:tiny",
                    "--base-url",
                    server.base_url,
                    "--budget",
                    "20",
                    "--n-init",
                    "10",
                    "--batch-size",
                    "10",
                    "--seed",
                    "3",
                    "--out",
                    str(tmp_path / out),
                    "--cache-dir",
                    str(tmp_path / "cache"),
                    "--data-dir",
                    str(data_dir),
                    "--config",
                    str(config),
                    "--no-progress",
                ]
            )

        assert run("first") == 0
        first = server.n_requests
        assert first > 0
        assert run("second") == 0
        assert server.n_requests == first, "a repeated run must send zero requests"
    printed = capsys.readouterr().out
    assert "requests 0," in printed.split("best instruction")[-1]
    best = read_best(tmp_path / "first")
    assert read_best(tmp_path / "second") == best
    assert best["groups"] == ["clean", "case", "format", "distractor"]
    assert set(best["test"]["n_examples"].values()) == {5}
    for name in ("config.json", "journal.jsonl", "report.md", "best_so_far.png"):
        assert (tmp_path / "first" / name).is_file()
    asks = [r for r in read_records(tmp_path / "first") if r["type"] == "ask"]
    assert len(asks) == 2 and all(isinstance(t, str) for a in asks for t in a["instructions"])
    tells = [r for r in read_records(tmp_path / "second") if r["type"] == "tell"]
    assert sum(r["stats"].get("generated", 0) for r in tells) == 0, "instructions come cached"
