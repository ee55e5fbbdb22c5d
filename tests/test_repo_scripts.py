"""The real-model scripts: ``scripts/llama-server.sh`` argument handling (it is never built in CI)
and the benchmark pools of ``benchmarks/make_pools.py``; one case of the bad-input probe
(``benchmarks/probe_bad_inputs.py``), so that the probe itself keeps running; the benchmark
scripts' argument checks."""

from __future__ import annotations

import json
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


def run_benchmark(
    script: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/SCRIPT ARGS``, its output captured."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


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


def test_jsonl_pools_carry_one_hot_factors_and_a_factorial_subset():

    from make_pools import POOL_DIR, TASKS, build_pool, factor_levels

    for task in TASKS:
        rows = [json.loads(x) for x in (POOL_DIR / f"{task}.jsonl").read_text().splitlines()]
        assert [r["instruction"] for r in rows] == build_pool(task)
        levels = factor_levels(task)
        for row, (p, f, h) in zip(rows, levels, strict=True):
            assert len(row["features"]) == 12 and sum(row["features"]) == 3
            assert row["features"][p] == row["features"][5 + f] == row["features"][9 + h] == 1
        chosen = [
            json.loads(x) for x in (POOL_DIR / f"{task}-factorial.jsonl").read_text().splitlines()
        ]
        assert len(chosen) == 30 and len({r["instruction"] for r in chosen}) == 30
        by_text = dict(zip(build_pool(task), levels, strict=True))
        picked = [by_text[r["instruction"]] for r in chosen]
        for k, size in enumerate((5, 4, 3)):  # every level of every factor is present
            assert {lv[k] for lv in picked} == set(range(size))


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


def test_bench_real_writes_a_grid_config_droiz_bench_grid_reads(tmp_path):
    import tomllib

    from bench_real import grid_argv, grid_config, parse_args, write_toml
    from droiz.bench.grid import split_per_task
    from make_pools import build_pool

    args = parse_args(["--root", str(tmp_path), "--base-url", "http://127.0.0.1:1/v1"])
    path = write_toml(tmp_path / "grid.toml", grid_config(args))
    shared, per_task = split_per_task(tomllib.loads(path.read_text()), args.tasks)
    assert shared["budget"] == 20 and shared["groups"] == "clean,case,distractor"
    assert set(per_task) == set(args.tasks)
    for task, table in per_task.items():
        pool = Path(table["generator"].removeprefix("pool:"))
        assert pool.is_absolute() and pool.read_text().splitlines() == build_pool(task)
    assert per_task["larger_animal"]["answer_filter"].startswith("chat-answer,regex:")
    argv = grid_argv(args, path)
    assert argv[:2] == ["bench", "grid"] and argv[argv.index("--config") + 1] == str(path)
    assert argv[argv.index("--out") + 1] == str(tmp_path / "grid")
    assert argv[argv.index("--executor") + 1] == "openai:smollm2"


def test_bench_real_runs_its_grid_and_the_hand_written_row(
    tmp_path: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import csv

    from bench_real import main
    from droiz.testing import FakeOpenAIServer
    from make_pools import build_pool

    root = tmp_path / "real"
    monkeypatch.setenv("DROIZ_DATA_DIR", str(data_dir))  # the grid's cells load the task
    with FakeOpenAIServer() as server:
        argv = [
            "--tasks", "first_word_letter", "--methods", "random", "--seeds", "1",
            "--budget", "4", "--n-init", "4", "--batch-size", "4", "--n-dev", "2",
            "--n-test", "2", "--groups", "clean,case", "--groups-per-round", "2",
            "--finalists", "1", "--executor", "openai:fake", "--base-url", server.base_url,
            "--root", str(root), "--workers", "1",
        ]  # fmt: skip
        assert main([*argv, "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "dry run: 1 unfinished cell(s)" in out and server.n_requests == 0
        assert main(argv) == 0
        grid_sent = sum(
            int(r["requests"]) for r in csv.DictReader((root / "grid" / "results.csv").open())
        )
        assert 0 < grid_sent < server.n_requests  # then the hand-written row's requests
    report = (root / "grid" / "report.md").read_text()
    assert "| first_word_letter | " in report and "first_word_letter: answer_filter" in report
    extras = json.loads((root / "extras.json").read_text())
    row = extras["hand_written"]["first_word_letter"]
    assert row["instruction"] == build_pool("first_word_letter")[0]  # no directive
    assert 0.0 <= row["worst"] <= row["mean"] <= 1.0
    assert server.n_requests - grid_sent <= 2 * 2  # test split: 2 examples x 2 groups at most


@pytest.mark.slow
def test_the_bad_input_probe_runs_one_case_end_to_end(tmp_path):
    # The probe builds a capped run before its cases (it once failed there on a moved import);
    # one case of the 355 checks that set-up, a refusal and the JSON record.
    out = tmp_path / "probe.json"
    done = run_benchmark(
        "probe_bad_inputs.py", "--jobs", "1", "--only", "optimize --seed '-1'", "--json", str(out),
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 cases" in done.stdout and "0 tracebacks" in done.stdout
    (case,) = json.loads(out.read_text())
    assert case["code"] == 2 and case["requests"] == 0 and case["problems"] == []


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("bench_ledger.py", ("--dir", "{missing}"), "expected an existing folder for --dir"),
        ("bench_ledger.py", ("--n", "0"), "expected --n >= 1"),
        ("bench_surrogate_drbo.py", ("--seeds", "1"), "expected --seeds >= 2"),
    ],
)
def test_benchmark_scripts_refuse_bad_arguments(tmp_path, script, args, message):
    argv = [a.replace("{missing}", str(tmp_path / "missing")) for a in args]
    done = run_benchmark(script, *argv)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "missing").exists()


HELPER_MODULES = {"llama_server.py"}  # imported by two scripts, not run


@pytest.mark.slow
@pytest.mark.parametrize(
    "script",
    sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name not in HELPER_MODULES),
)
def test_every_benchmark_script_answers_help(script):
    # module-level imports and the argument parser, no data and no work: a script that breaks
    # before its first option is read fails here
    done = run_benchmark(script, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage: ") and "Traceback" not in done.stderr
