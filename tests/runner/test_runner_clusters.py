"""``--groups clusters:K`` in runs: the clusters are the run's groups, saved in the run directory,
and a resume reads them from there without the embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runner_helpers import cli_args, cli_config, matern_settings, read_best, read_records
from sklearn.metrics import adjusted_rand_score

import droiz
import droiz.tasks.clusters as clusters_module
from droiz.cli import main
from droiz.exceptions import ConfigError
from droiz.runner import CapReached
from droiz.testing import FakeOpenAIServer, write_planted_task

NAMES = ["c0", "c1", "c2"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three planted subpopulations whose outputs are the reversed inputs (the world's task)."""
    return write_planted_task(tmp_path_factory.mktemp("planted") / "planted.jsonl")


@pytest.fixture
def no_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clustering fails if it embeds anything."""

    def refuse(*args: object) -> None:
        raise AssertionError("the embedder was used")

    monkeypatch.setattr(clusters_module, "_embedder", refuse)
    monkeypatch.setattr(clusters_module, "embed_inputs", refuse)


def _ari(members: dict[str, list[str]]) -> float:
    pairs = sorted((i, name) for name, ids in members.items() for i in ids)
    return adjusted_rand_score([i.split("-")[0] for i, _ in pairs], [n for _, n in pairs])


def test_optimize_over_clusters_runs_end_to_end_from_the_cli(
    planted: Path, world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    files = {**world_files, "task": planted}
    args = cli_args(files, world_server, out, cli_config(tmp_path / "settings.toml"))
    assert main([*args, "--groups", "clusters:3"]) == 0
    saved = json.loads((out / "clusters.json").read_text())
    assert saved["k"] == 3 and saved["seed"] == 0 and list(saved["members"]) == NAMES
    assert _ari(saved["members"]) >= 0.9
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["groups"] == "clusters:3"
    assert [g["name"] for g in config["resolved"]["groups"]] == NAMES
    best = read_best(out)
    assert best["groups"] == NAMES and list(best["test"]["per_group"]) == NAMES
    sizes = {name: len(ids) for name, ids in saved["members"].items()}
    test_ids = {e["id"] for e in map(json.loads, planted.read_text().splitlines())}
    assert sum(best["test"]["n_examples"].values()) < sum(sizes.values()) <= len(test_ids)
    evals = [r for r in read_records(out) if r["type"] == "eval"]
    assert evals and all(set(r["groups"]) <= set(NAMES) for r in evals)


def test_a_resume_reads_the_saved_clusters_and_never_embeds(
    planted: Path,
    world_files: dict,
    world_server: FakeOpenAIServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "run"
    settings = matern_settings(
        {**world_files, "task": planted}, world_server, groups="clusters:3", max_requests=40
    )
    with pytest.raises(CapReached):
        droiz.optimize(out=out, **settings)
    saved = (out / "clusters.json").read_text()

    def refuse(*args: object) -> None:
        raise AssertionError("the embedder was used on resume")

    monkeypatch.setattr(clusters_module, "_embedder", refuse)
    monkeypatch.setattr(clusters_module, "embed_inputs", refuse)
    result = droiz.optimize(out=out, resume=True, max_requests=100_000)
    assert result.best.groups == tuple(NAMES) and result.best.test is not None
    assert (out / "clusters.json").read_text() == saved


def test_a_resume_without_its_saved_clusters_is_refused_in_one_line(
    planted: Path,
    world_files: dict,
    world_server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    settings = matern_settings(
        {**world_files, "task": planted}, world_server, groups="clusters:2", max_requests=50
    )
    with pytest.raises(CapReached):
        droiz.optimize(out=out, **settings)
    (out / "clusters.json").unlink()
    capsys.readouterr()
    assert main(["resume", str(out), "--base-url", world_server.base_url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "clusters.json is missing" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"groups_per_round": 4}, "--groups-per-round 4 is more than the run's 3 clusters"),
        ({"reference": "1,1"}, "--reference has 2 weights but the run has 3 groups"),
        ({"groups": "clusters:31"}, "needs at least 93 examples"),
    ],
)
def test_bad_cluster_settings_are_refused_before_anything_is_embedded(
    planted: Path,
    world_files: dict,
    world_server: FakeOpenAIServer,
    tmp_path: Path,
    no_embedder: None,
    extra: dict,
    message: str,
) -> None:
    settings = {"groups": "clusters:3"} | extra
    args = matern_settings({**world_files, "task": planted}, world_server, **settings)
    with pytest.raises(ConfigError, match=message):
        droiz.optimize(out=tmp_path / "run", **args)
    assert not (tmp_path / "run").exists()


def test_clusters_take_one_task(
    planted: Path, world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    two = f"{planted},{world_files['task']}"
    args = matern_settings(world_files, world_server, task=two, groups="clusters:3")
    with pytest.raises(ConfigError, match="clusters the inputs of one task, but --task names 2"):
        droiz.optimize(out=tmp_path / "run", **args)
