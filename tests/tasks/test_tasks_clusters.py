"""Groups without labels: k-means clusters of a task's inputs (``droiz.tasks.clusters``) and
``droiz tasks show --groups clusters:K``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from droiz.exceptions import ConfigError, DataError
from droiz.llm.embed import SentenceEmbedder
from droiz.tasks import load_task
from droiz.tasks.clusters import (
    Clusters,
    all_examples,
    cluster_task,
    clustered,
    distinctive_words,
)
from droiz.testing import write_planted_task


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    """droiz's MiniLM embedder, loaded once for the module."""
    return SentenceEmbedder()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 examples from three planted subpopulations (ids ``TOPIC-I``), no ``group`` column."""
    return write_planted_task(tmp_path_factory.mktemp("planted") / "planted.jsonl")


def _topic(example_id: str) -> str:
    return example_id.split("-")[0]


def _ari(members: dict[str, list[str]] | dict[str, tuple[str, ...]]) -> float:
    pairs = sorted((i, name) for name, ids in members.items() for i in ids)
    return adjusted_rand_score([_topic(i) for i, _ in pairs], [name for _, name in pairs])


class FakeEmbedder:
    """Fixed vectors by input: the input's first word picks a direction (for exact clusters)."""

    fingerprint = "embed:fake"

    def __init__(self, directions: dict[str, int], dim: int = 4) -> None:
        self.directions, self.dim, self.calls = directions, dim, 0

    def embed_batched(self, texts: list[str]) -> torch.Tensor:
        self.calls += 1
        out = torch.zeros(len(texts), self.dim, dtype=torch.float64)
        for row, text in enumerate(texts):
            out[row, self.directions[text.split()[0]]] = 1.0
        return out


def _fake_task(tmp_path: Path, counts: dict[str, int]) -> Path:
    """A task file whose inputs start with a word per planted cluster (``a`` x 5, ...)."""
    rows = [
        {"id": f"{word}{i:02d}", "input": f"{word} item {i}", "output": "x"}
        for word, n in counts.items()
        for i in range(n)
    ]
    path = tmp_path / "fake.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_the_clusters_recover_three_planted_subpopulations(
    planted: Path, embedder: SentenceEmbedder, seed: int
) -> None:
    task = load_task(planted)
    clusters = cluster_task(task, 3, seed=seed, embedder=embedder)
    assert clusters.names == ("c0", "c1", "c2") and sum(clusters.sizes.values()) == 90
    assert _ari(clusters.members) >= 0.9


def test_the_most_distinctive_words_come_from_the_cluster_s_own_vocabulary(
    planted: Path, embedder: SentenceEmbedder
) -> None:
    task = load_task(planted)
    clusters = cluster_task(task, 3, seed=0, embedder=embedder)
    inputs = {e.id: e.input for e in all_examples(task)}
    words = distinctive_words(task, clusters)
    for name, ids in clusters.members.items():
        assert len(words[name]) == 5
        own = {w for i in ids for w in inputs[i].split()}
        others = {
            w
            for n, m in clusters.members.items()
            if n != name
            for i in m
            for w in inputs[i].split()
        }
        assert all(w in own and w not in others for w in words[name]), (name, words[name])


def test_clusters_are_named_by_decreasing_size_ties_by_smallest_id(tmp_path: Path) -> None:
    task = load_task(_fake_task(tmp_path, {"b": 4, "c": 6, "a": 4}))
    fake = FakeEmbedder({"a": 0, "b": 1, "c": 2})
    clusters = cluster_task(task, 3, seed=0, embedder=fake)  # type: ignore[arg-type]
    assert clusters.sizes == {"c0": 6, "c1": 4, "c2": 4}
    assert {_topic_letter(i) for i in clusters.members["c0"]} == {"c"}
    assert {_topic_letter(i) for i in clusters.members["c1"]} == {"a"}  # "a00" < "b00"
    assert clusters.embedder == "embed:fake" and fake.calls == 1


def _topic_letter(example_id: str) -> str:
    return example_id[0]


def test_a_k_that_leaves_a_cluster_under_three_examples_is_refused_with_the_sizes(
    tmp_path: Path,
) -> None:
    task = load_task(_fake_task(tmp_path, {"a": 6, "b": 5, "c": 2}))
    fake = FakeEmbedder({"a": 0, "b": 1, "c": 2})
    with pytest.raises(ConfigError, match=r"fewer than 3 examples \(cluster sizes 6, 5, 2\)"):
        cluster_task(task, 3, seed=0, embedder=fake)  # type: ignore[arg-type]


def test_a_k_too_large_for_the_task_is_refused_before_anything_is_embedded(
    tmp_path: Path,
) -> None:
    task = load_task(_fake_task(tmp_path, {"a": 4, "b": 4}))
    fake = FakeEmbedder({"a": 0, "b": 1})
    with pytest.raises(ConfigError, match=r"needs at least 9 examples.*has 8; choose K <= 2"):
        cluster_task(task, 3, seed=0, embedder=fake)  # type: ignore[arg-type]
    assert fake.calls == 0


def test_the_clusters_become_the_task_s_groups_in_every_split(tmp_path: Path) -> None:
    rows = [
        {"id": f"{w}{i}", "input": f"{w} item {i}", "output": "x", "group": "g1" if i % 2 else "g2"}
        for w in "ab"
        for i in range(8)
    ]
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = load_task(path)
    assert task.groups == ("g1", "g2")  # the group column stays the default grouping
    clusters = cluster_task(task, 2, seed=0, embedder=FakeEmbedder({"a": 0, "b": 1}))  # type: ignore[arg-type]
    grouped = clustered(task, clusters)
    assert grouped.groups == grouped.natural_groups == ("c0", "c1")  # the clusters replace it
    label = clusters.label_of()
    for split in ("induce", "dev", "test"):
        assert all(e.group == label[e.id] for e in grouped.split(split))
    dev = grouped.dataset("dev", n=4)
    assert {i.group for i in dev.instances} == {"c0", "c1"}
    assert all(
        i.input == next(e.input for e in task.dev if e.id == i.example_id) for i in dev.instances
    )


def test_a_saved_assignment_round_trips_and_must_match_the_task(tmp_path: Path) -> None:
    task = load_task(_fake_task(tmp_path, {"a": 4, "b": 5}))
    clusters = cluster_task(task, 2, seed=3, embedder=FakeEmbedder({"a": 0, "b": 1}))  # type: ignore[arg-type]
    data = json.loads(json.dumps(clusters.to_dict()))
    assert Clusters.from_dict(data) == clusters and data["format"] == 1
    with pytest.raises(DataError, match="format 2"):
        Clusters.from_dict({**data, "format": 2})
    other = Clusters(2, 0, "embed:fake", {"c0": ("a00",), "c1": ("b00",)})
    with pytest.raises(DataError, match="does not match task 'fake'"):
        clustered(task, other)


def test_tasks_show_recovers_the_planted_subpopulations_as_json(planted: Path, cli) -> None:
    code, out, _ = cli("tasks", "show", planted, "--groups", "clusters:3", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["groups"] == ["c0", "c1", "c2"]
    assert {"name", "metric", "split", "examples", "natural_counts"} <= set(info)
    clusters = info["clusters"]
    assert list(clusters) == ["c0", "c1", "c2"]
    assert all(c["size"] == len(c["ids"]) and len(c["words"]) == 5 for c in clusters.values())
    assert _ari({name: c["ids"] for name, c in clusters.items()}) >= 0.9


def test_tasks_show_prints_each_cluster_s_size_words_and_three_inputs(planted: Path, cli) -> None:
    code, out, _ = cli("tasks", "show", planted, "--groups", "clusters:3", "-n", "0")
    assert code == 0
    for name in ("c0", "c1", "c2"):
        block = out.split(f"\n[{name}] ", 1)[1].split("\n[", 1)[0].splitlines()
        assert block[0].startswith("30 examples; words: ") and len(block[0].split(", ")) == 5
        assert len([line for line in block[1:] if line.strip()]) == 3


def test_tasks_show_refuses_a_k_too_large_in_one_line(planted: Path, cli) -> None:
    code, _, err = cli("tasks", "show", planted, "--groups", "clusters:31")
    assert code == 2
    err = err.strip()
    assert err.count("\n") == 0 and "choose K <= 30" in err and "Traceback" not in err
