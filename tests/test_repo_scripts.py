"""The real-model scripts: ``scripts/llama-server.sh`` argument handling (it is never built in CI)
and the benchmark pools of ``benchmarks/make_pools.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "llama-server.sh"
sys.path.insert(0, str(ROOT / "benchmarks"))


def run_script(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DROIZ_LLAMA_DIR": str(cache), "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_help_lists_the_commands_and_options(tmp_path):
    done = run_script("help", cache=tmp_path)
    assert done.returncode == 0
    for word in ("build", "start", "--parallel", "--port", "--threads", "--model"):
        assert word in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("start", "--port", "http"), "--port must be 1-65535"),
        (("start", "--port", "70000"), "--port must be 1-65535"),
        (("start", "--threads", "0"), "--threads must be a positive integer"),
        (("start", "--parallel", "-2"), "--parallel must be a positive integer"),
        (("start", "--model", "/nonexistent/m.gguf"), "--model: no such file"),
        (("start", "--bogus"), "unknown option --bogus"),
        (("start", "--port"), "--port"),
        (("serve",), "unknown command 'serve'"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, args, message):
    done = run_script(*args, cache=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llama-server.sh: ")
    assert message in lines[0]
    assert not (tmp_path / "build").exists()  # nothing was built for a bad command line


def test_path_reports_an_unbuilt_server(tmp_path):
    done = run_script("path", cache=tmp_path)
    assert done.returncode == 1
    assert "not built" in done.stderr and str(tmp_path) in done.stderr


def test_pools_are_60_distinct_instructions_and_up_to_date():
    from make_pools import TASKS, build_pool, main

    for task in TASKS:
        pool = build_pool(task)
        assert len(pool) == 60 and len(set(pool)) == 60
        assert all(line == line.strip() and "\n" not in line for line in pool)
    assert main(["--check"]) == 0  # benchmarks/pools/*.txt match the recipe


def test_bench_real_keeps_the_budget_within_a_third_of_the_pool(capsys):
    from bench_real import parse_args

    args = parse_args(["--budget", "20", "--tasks", "antonyms"])
    assert args.executor == "hf:smollm2-135m" and args.tasks == ["antonyms"]
    assert parse_args(["--base-url", "http://127.0.0.1:1/v1"]).executor == "openai:smollm2"
    with pytest.raises(SystemExit) as exc:
        parse_args(["--budget", "21"])
    assert exc.value.code == 2
    assert "more than a third" in capsys.readouterr().err


def test_bench_real_filters_per_task_unless_one_is_given():
    from bench_real import parse_args, task_filter

    args = parse_args([])
    assert args.tasks == ["first_word_letter", "singular_to_plural", "larger_animal", "rhymes"]
    assert task_filter("rhymes", args) == "chat-answer"
    assert task_filter("larger_animal", args).startswith("chat-answer,regex:")
    forced = parse_args(["--answer-filter", "first-line"])
    assert task_filter("larger_animal", forced) == "first-line"


def test_bench_real_pairs_dro_with_each_method_over_task_and_seed():
    from bench_real import paired_lines

    def cell(task, seed, method, worst):
        return {"task": task, "seed": seed, "method": method, "worst_group": worst}

    cells = [
        cell("a", 0, "dro", 0.5), cell("a", 0, "ei", 0.3), cell("a", 0, "random", 0.5),
        cell("a", 1, "dro", 0.2), cell("a", 1, "ei", 0.4), cell("a", 1, "random", 0.1),
        cell("b", 0, "dro", 0.6), cell("b", 0, "ei", 0.6),  # no random cell: not paired
    ]  # fmt: skip
    ei, rnd = paired_lines(cells)
    assert ei.startswith("dro - ei, worst group, over 3 (task, seed) pairs: mean +0.0 points")
    assert ei.endswith("wins/ties/losses 1/1/1")
    assert "over 2 (task, seed) pairs: mean +5.0 points" in rnd and rnd.endswith("1/1/0")
