"""``--track mlflow``: a run logged to a local MLflow store (sqlite) and read back with
``MlflowClient`` holds the resolved config as params, the journal's per-round values as metrics
and the outputs as artifacts; a resume continues the same MLflow run (or catches a new one up);
bad values, a missing extra and an unreachable store are one-line errors (exit 2)."""

from __future__ import annotations

import ipaddress
import json
import pickle
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import matern_settings, read_best, read_records

import droiz
from droiz.cli import main
from droiz.exceptions import ConfigError, MissingDependencyError
from droiz.runner import CapReached
from droiz.runner.tracking.mlflow_tracker import MlflowTracker
from droiz.testing import FakeOpenAIServer


@pytest.fixture(autouse=True)
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A sqlite store in ``tmp_path`` (artifacts under ``tmp_path/mlruns``), telemetry off."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    for name in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return uri


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond loopback fails the test."""
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            ok = host == "localhost" or ipaddress.ip_address(host.split("%")[0]).is_loopback
            assert ok, f"a connection to {address} left loopback"
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _client() -> Any:
    """An ``MlflowClient`` of the test's store (MLflow is imported here, inside a test, once
    the fixtures have turned its telemetry off: its telemetry client starts at import)."""
    from mlflow import MlflowClient

    return MlflowClient()


def _tracked_run(out: Path) -> tuple[Any, Any]:
    data = json.loads((out / "tracking.json").read_text())
    assert data["tracker"] == "mlflow"
    client = _client()
    return client, client.get_run(data["run_id"])


def _history(client: Any, run_id: str, key: str) -> dict[int, float]:
    points = client.get_metric_history(run_id, key)
    steps = [m.step for m in points]
    assert len(steps) == len(set(steps)), f"{key} logged twice at a step: {steps}"
    return {m.step: m.value for m in points}


def _assert_rounds_match_journal(client: Any, run_id: str, out: Path) -> None:
    """Every round's metrics equal the values recomputed from ``journal.jsonl``."""
    records = read_records(out)
    saved = json.loads((out / "config.json").read_text())
    groups = [g["name"] for g in saved["resolved"]["groups"]]
    requests = 0.0
    expected: dict[str, dict[int, float]] = {"best_robust_value": {}, "requests": {}}
    for r in records:
        requests += r.get("stats", {}).get("requests", 0)
        if r["type"] == "tell":
            expected["best_robust_value"][r["round"]] = r["summary"]["robust_value"]
            expected["requests"][r["round"]] = requests
            summary = r["summary"]
            for g, ref, w in zip(groups, summary["reference"], summary["weights"], strict=True):
                expected.setdefault(f"reference_weight/{g}", {})[r["round"]] = ref
                expected.setdefault(f"worst_case_weight/{g}", {})[r["round"]] = w
    assert len(expected["requests"]) == 3 and requests > 0
    for key, values in expected.items():
        assert _history(client, run_id, key) == pytest.approx(values), key


def test_a_tracked_run_logs_its_config_rounds_and_outputs(world, world_files, tmp_path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(answer=world.answer) as server:
        settings = matern_settings(world_files, server, cache_dir=str(tmp_path / "cache"))
        result = droiz.optimize(out=out, track="mlflow", **settings)
    client, run = _tracked_run(out)
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert run.data.tags["droiz.method"] == "dro" and run.data.tags["droiz.run_dir"] == str(out)
    saved = json.loads((out / "config.json").read_text())
    params = run.data.params
    for key, value in saved["settings"].items():
        if isinstance(value, dict):
            for sub, item in value.items():
                if not isinstance(item, dict):
                    assert json.loads(params[f"{key}.{sub}"]) == item, key
        elif isinstance(value, str):
            assert params[key] == value, key
        else:
            assert json.loads(params[key]) == value, key
    assert params["track"] == "mlflow"
    assert json.loads(params["resolved.reference"]) == saved["resolved"]["reference"]
    assert params["resolved.engine.eta"] == json.dumps(saved["resolved"]["engine"]["eta"])
    assert params["resolved.fingerprints.executor"] == saved["resolved"]["fingerprints"]["executor"]
    _assert_rounds_match_journal(client, run.info.run_id, out)
    best, metrics = read_best(out), run.data.metrics
    assert metrics["final/robust_value"] == pytest.approx(best["robust_value"])
    assert metrics["test/worst_group"] == pytest.approx(best["test"]["worst_group"])
    assert metrics["total/requests"] == result.stats["requests"] > metrics["requests"]
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names >= {"best.json", "report.md", "best_so_far.png", "config.json"}
    local = Path(client.download_artifacts(run.info.run_id, "best.json", str(tmp_path)))
    assert local.read_bytes() == (out / "best.json").read_bytes()


def test_a_capped_run_resumes_into_the_same_mlflow_run(world, world_files, tmp_path) -> None:
    """A child run (a tracker object, as a grid passes to its cells) stopped at a cap continues
    on resume; resuming the finished run again logs nothing twice."""
    assert MlflowTracker().prepare_store() == f"sqlite:///{tmp_path}/mlflow.db"
    assert (tmp_path / "mlflow.db").is_file()
    parent = _client().create_run("0", run_name="grid").info.run_id
    tracker = pickle.loads(pickle.dumps(MlflowTracker(parent_run_id=parent, tags={"cell": "c1"})))
    out = tmp_path / "run"
    with FakeOpenAIServer(answer=world.answer) as server:
        settings = matern_settings(world_files, server, cache_dir=str(tmp_path / "cache"))
        with pytest.raises(CapReached):
            droiz.optimize(out=out, track=tracker, max_requests=200, **settings)
        client, first = _tracked_run(out)
        assert first.info.status == "KILLED"
        assert first.data.tags["droiz.stopped"] == "cap:max_requests"
        assert first.data.tags["mlflow.parentRunId"] == parent
        assert first.data.tags["cell"] == "c1" and first.data.params["track"] == "mlflow"
        assert set(_history(client, first.info.run_id, "best_robust_value")) == {1}
        droiz.optimize(out=out, resume=True, max_requests=10**6, **settings)  # track is saved
        client, run = _tracked_run(out)
        assert run.info.run_id == first.info.run_id and run.info.status == "FINISHED"
        assert run.data.params["max_requests"] == "200"  # params are the first session's
        assert run.data.tags["droiz.resumed.max_requests"] == "1000000"
        _assert_rounds_match_journal(client, run.info.run_id, out)
        sent = server.n_requests
        droiz.optimize(out=out, resume=True, max_requests=10**6, **settings)
        assert server.n_requests == sent
    client, again = _tracked_run(out)
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    assert len(_history(client, run.info.run_id, "final/robust_value")) == 1
    _assert_rounds_match_journal(client, run.info.run_id, out)


def test_resuming_an_untracked_run_with_track_logs_every_round(
    world, world_files, tmp_path, capsys
) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(answer=world.answer) as server:
        settings = matern_settings(world_files, server, cache_dir=str(tmp_path / "cache"))
        with pytest.raises(CapReached):
            droiz.optimize(out=out, max_requests=200, **settings)
        assert not (out / "tracking.json").exists()
        argv = ["resume", str(out), "--track", "mlflow", "--max-requests", "100000"]
        assert main([*argv, "--base-url", server.base_url, "--no-progress"]) == 0
    client, run = _tracked_run(out)
    assert run.info.status == "FINISHED" and run.data.params["track"] == "mlflow"
    assert run.data.params["max_requests"] == "100000"  # a new run: this session's settings
    _assert_rounds_match_journal(client, run.info.run_id, out)  # round 1 caught up
    assert f"tracked: mlflow run {run.info.run_id}" in capsys.readouterr().out


def _argv(world_files: dict, out: Path, *extra: str) -> list[str]:
    argv = ["optimize", "--task", str(world_files["task"]), "--executor", "openai:world"]
    argv += ["--generator", f"pool:{world_files['pool']}", "--out", str(out), "--no-progress"]
    return [*argv, "--kernel", "matern", "--budget", "4", "--n-init", "2", *extra]


def test_bad_track_values_are_one_line_errors(world_files, tmp_path, capsys) -> None:
    assert main(_argv(world_files, tmp_path / "run", "--track", "mlfow")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--track" in err and "did you mean 'mlflow'" in err
    config = tmp_path / "settings.toml"
    config.write_text('track = "nothing"\n')
    assert main(_argv(world_files, tmp_path / "run", "--config", str(config))) == 2
    assert "unknown --track value 'nothing'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="did you mean 'none'"):
        droiz.optimize(
            out=tmp_path / "api", task="x", generator="pool:p", executor="openai:m", track="non"
        )
    assert not (tmp_path / "run").exists() and not (tmp_path / "mlflow.db").exists()


def test_without_mlflow_the_error_names_the_extra(world_files, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # ``import mlflow`` raises ImportError
    assert main(_argv(world_files, tmp_path / "run", "--track", "mlflow")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'droiz[track]'" in err
    assert not (tmp_path / "run").exists()
    with pytest.raises(MissingDependencyError):
        droiz.optimize(out=tmp_path / "api", track=MlflowTracker(), **_api(world_files))


def _api(world_files: dict) -> dict[str, Any]:
    pool = f"pool:{world_files['pool']}"
    return {"task": str(world_files["task"]), "generator": pool, "executor": "openai:world"}


def test_an_unreachable_store_is_a_one_line_error_with_the_uri_masked(
    world, world_files, tmp_path, capsys, monkeypatch
) -> None:
    secret = "mlflow-TOPSECRET-password-93c1"
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://tracker-user:{secret}@127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    out = tmp_path / "run"
    with FakeOpenAIServer(answer=world.answer) as server:
        argv = _argv(world_files, out, "--track", "mlflow", "--base-url", server.base_url)
        assert main(argv) == 2
        assert server.n_requests == 0  # nothing was spent
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert len(errors) == 1 and captured.err.strip().endswith(errors[0]), captured.err
    assert f"cannot log to MLflow at http://***@127.0.0.1:{port}" in errors[0]
    assert f"droiz optimize --out {out} --resume" in errors[0]
    written = [p.read_bytes() for p in out.rglob("*") if p.is_file()]
    for blob in [captured.out.encode(), captured.err.encode(), *written]:
        assert secret.encode() not in blob
