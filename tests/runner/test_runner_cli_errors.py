"""Bad input to ``droiz optimize`` and ``droiz evaluate``: one line, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import closed_port_url, optimize_base

from droiz.cli import main
from droiz.testing import FakeOpenAIServer


@pytest.fixture
def base(world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path) -> dict[str, str]:
    return optimize_base(world_files, world_server, tmp_path)


CASES = [
    ({"--task": "antonymz"}, "did you mean 'antonyms'"),
    ({"--ambiguity": "kl:-1"}, "kl"),
    ({"--ambiguity": "kll:0.1"}, "did you mean"),
    ({"--reference": "0.5,0.5"}, "has 2 weights but the run has 4 groups"),
    ({"--reference": "a,b,c,d"}, "--reference must be"),
    ({"--reference": "0.5,-1,1,1"}, ">= 0"),
    ({"--generator": "pool:/nonexistent/pool.txt"}, "cannot read the instruction pool"),
    ({"--generator": "hf:/nonexistent/model"}, "does not exist"),
    ({"--generator": "gpt:x"}, "unknown generator"),
    ({"--method": "droo"}, "did you mean 'dro'"),
    ({"--kernel": "rbf"}, "unknown kernel"),
    ({"--answer-filter": "chat-anwser"}, "did you mean 'chat-answer'"),
    ({"--answer-filter": "regex:(x"}, "not a valid regex"),
    ({"--budget": "0"}, "budget must be a positive integer"),
    ({"--groups": "clean,bogus"}, "invalid groups"),
    ({"--base-url": "CLOSED"}, "cannot reach the endpoint"),
    ({"--base-url": "ftp://x"}, "must be an http(s) URL"),
    ({"--config": "/nonexistent.toml"}, "cannot read the config file"),
]


@pytest.mark.parametrize(("change", "message"), CASES)
def test_optimize_rejects_bad_input_in_one_line(
    base: dict[str, str], change: dict[str, str], message: str, capsys: pytest.CaptureFixture
) -> None:
    args = {**base, **change}
    if args.get("--base-url") == "CLOSED":
        args["--base-url"] = closed_port_url()
    argv = ["optimize", *[x for kv in args.items() for x in kv], "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("droiz optimize: error:") and message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_config_file_errors(base: dict[str, str], tmp_path: Path, capsys) -> None:
    bad = tmp_path / "c.toml"
    for text, message in [
        ("budgett = 3\n", "did you mean 'budget'"),
        ("budget = [\n", "TOML"),
        ("[executor_options]\napi_key = 'sk-x'\n", "looks like a secret"),
    ]:
        bad.write_text(text)
        argv = ["optimize", *[x for kv in base.items() for x in kv], "--config", str(bad)]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "sk-x" not in err


def test_resume_without_a_run_and_existing_run_dir(
    base: dict[str, str], tmp_path: Path, capsys
) -> None:
    argv = ["optimize", *[x for kv in base.items() for x in kv]]
    assert main([*argv, "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "journal.jsonl").write_text("")
    assert main(argv) == 2
    assert "already holds a run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task", "antonymz", "--base-url", "CLOSED"], "did you mean"),
        (["--task", "TASK", "--base-url", "CLOSED"], "cannot reach the endpoint"),
        (["--task", "TASK", "--groups", "clean,nope"], "invalid groups"),
        (["--task", "TASK", "--executor", "hf:/nonexistent"], "cannot load"),
    ],
)
def test_evaluate_rejects_bad_input_in_one_line(
    world_files: dict, extra: list[str], message: str, tmp_path: Path, capsys
) -> None:
    args = [
        world_files["task"] if a == "TASK" else closed_port_url() if a == "CLOSED" else a
        for a in extra
    ]
    argv = ["evaluate", "--instruction", "x", "--cache-dir", str(tmp_path / "c")]
    if "--executor" not in args:
        argv += ["--executor", "openai:m"]
    assert main([*argv, *[str(a) for a in args]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_closed_pipe_ends_quietly(data_dir: Path) -> None:
    """`droiz tasks list | head -0`: the reader is gone before the first write; no traceback."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DROIZ_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "droiz", "tasks", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the interpreter has even started writing
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert code == 1
