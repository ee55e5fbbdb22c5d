"""No API key reaches anything a run writes or prints: the key in the environment, in the base
URL's user-info and in its query, echoed back by the server in answers and error bodies, with
third-party HTTP loggers at ``-vv``, and the MLflow store of ``--track mlflow``."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from droiz.cli import main
from droiz.testing import FakeOpenAIServer, InstructionWorld

SECRET = "sk-droiz-TOPSECRET-5f3a9c0e7b"


def _key_from(auth: str) -> str:
    """The key a request carried (``Bearer KEY`` or ``Basic base64(user:KEY)``)."""
    kind, _, value = auth.partition(" ")
    if kind == "Basic":
        return base64.b64decode(value).decode().partition(":")[2]
    return value


def test_no_key_in_any_file_or_output_of_a_verbose_run(
    world: InstructionWorld, world_files: dict, tmp_path: Path, capsys
) -> None:
    server: FakeOpenAIServer

    def answer(prompt: str, body: dict[str, Any]) -> str:  # a server that echoes the key
        return f"{world.answer(prompt, body)} (key {_key_from(server.auth_headers[-1])})"

    config = tmp_path / "settings.toml"
    config.write_text(
        "[engine]\ncma_starts = 3\ncma_popsize = 10\ncma_generations = 2\n"
        "[executor_options.retry]\nmax_retries = 4\nbase_delay = 0.001\nmax_delay = 0.01\n"
    )
    with FakeOpenAIServer(answer=answer) as server:
        server.add_fault("no_choices", times=2)  # a 200 whose error names the key: retried
        url = f"http://droiz:{SECRET}@127.0.0.1:{server.port}/v1?api_key={SECRET}"
        run, cache = tmp_path / "run", tmp_path / "cache"
        argv = ["-vv", "optimize", "--task", str(world_files["task"])]
        argv += ["--generator", f"pool:{world_files['pool']}", "--executor", "openai:world"]
        argv += ["--base-url", url, "--api-key-env", "DROIZ_SECRET_KEY", "--config", str(config)]
        argv += ["--out", str(run), "--cache-dir", str(cache), "--kernel", "matern"]
        argv += ["--budget", "4", "--n-init", "2", "--batch-size", "2", "--n-dev", "3"]
        argv += ["--n-test", "3", "--finalists", "1", "--no-progress", "--track", "mlflow"]
        store = tmp_path / "mlflow"  # the tracking store and its artifacts (cwd/mlruns)
        env = {**os.environ, "DROIZ_SECRET_KEY": SECRET, "MLFLOW_DISABLE_TELEMETRY": "true"}
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}/mlflow.db"
        store.mkdir()
        proc = subprocess.run(
            [sys.executable, "-m", "droiz", *argv],
            capture_output=True,
            env=env,
            timeout=300,
            cwd=store,
        )
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        assert server.n_requests > 0 and _key_from(server.auth_headers[0]) == SECRET
    stderr = proc.stderr.decode()
    logged = f"HTTP Request: POST http://127.0.0.1:{server.port}/v1/chat/completions?api_key=***"
    assert logged in stderr  # httpx logged the URL: the path kept, no user-info, the key masked
    assert "missing 'choices'" in stderr  # the echoing error body was logged, redacted
    settings = (run / "config.json").read_text()
    assert f'"base_url": "http://***@127.0.0.1:{server.port}/v1?api_key=***"' in settings
    written = [p for p in [*run.rglob("*"), *cache.rglob("*"), *store.rglob("*")] if p.is_file()]
    assert {p.name for p in written} >= {"journal.jsonl", "report.md", "droiz-cache.sqlite3"}
    assert len([p for p in written if p.is_relative_to(store / "mlruns")]) >= 4  # artifacts
    assert b"TOPSECRET" not in (store / "mlflow.db").read_bytes()  # params, tags and metrics
    needles = [SECRET.encode(), SECRET.encode("utf-16-le")]
    for blob in [proc.stdout, proc.stderr, *(p.read_bytes() for p in written)]:
        assert not any(n in blob for n in needles)
    # the masked URL is not used to resume: the user gives the real one again
    assert main(["optimize", "--out", str(run), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "used a --base-url with credentials" in err and SECRET not in err


def test_permanent_errors_and_caps_name_no_key(
    world: InstructionWorld, world_files: dict, tmp_path: Path, capsys, monkeypatch
) -> None:
    """A 401 whose body echoes the key stops the run (exit 2) and a cap stops the resumed one
    (exit 3); neither the messages nor the journal's ``abort`` and ``cap`` records hold it."""
    monkeypatch.setenv("DROIZ_SECRET_KEY", SECRET)
    run = tmp_path / "run"
    with FakeOpenAIServer(answer=world.answer) as server:
        server.add_fault("401", times=1)
        argv = ["optimize", "--task", str(world_files["task"]), "--kernel", "matern"]
        argv += ["--generator", f"pool:{world_files['pool']}", "--executor", "openai:world"]
        argv += ["--base-url", server.base_url, "--api-key-env", "DROIZ_SECRET_KEY"]
        argv += ["--out", str(run), "--cache-dir", str(tmp_path / "cache"), "--budget", "4"]
        argv += ["--n-init", "2", "--batch-size", "2", "--n-dev", "3", "--no-progress"]
        assert main(argv) == 2
        first = capsys.readouterr()
        assert server.auth_headers[0] == f"Bearer {SECRET}"  # the key was sent and echoed
        assert "the endpoint refused the API key" in first.err
        assert "Incorrect API key provided: ***" in first.err
        resume = ["optimize", "--out", str(run), "--resume", "--no-progress"]
        assert main([*resume, "--max-requests", "3"]) == 3
        second = capsys.readouterr()
    assert "--max-requests" in second.err
    records = (run / "journal.jsonl").read_text()
    assert '"type": "abort"' in records and '"type": "cap"' in records
    assert "Incorrect API key provided: ***" in records
    for text in (first.out, first.err, second.out, second.err, records):
        assert SECRET not in text
