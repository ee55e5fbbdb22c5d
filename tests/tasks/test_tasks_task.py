"""The Task API the runner uses: fixed dev subsets, datasets, scoring and group means."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from droiz.exceptions import ConfigError
from droiz.tasks import DEFAULT_TEMPLATE, Dataset


def test_dev_subset_is_fixed_per_seed_and_prefix_stable(load: Callable) -> None:
    task = load("antonyms")
    first = task.dev_subset(20)
    assert len(first) == 20 and task.dev_subset(20) == first
    assert set(first) <= set(task.dev)
    assert set(first) <= set(task.dev_subset(30))  # larger subsets contain smaller ones
    assert task.dev_subset(20, seed=1) != first
    assert task.with_seed(1).dev_subset(20) == task.dev_subset(20, seed=1)
    assert len(load("informal_to_formal").dev_subset(20)) == 8  # whole pool when smaller


def test_dataset_is_paired_and_aligned_across_instructions(load: Callable) -> None:
    task = load("larger_animal")
    data = task.dataset("dev")
    assert len(data) == 20 * len(task.groups)
    assert data.groups == task.groups
    ids = [inst.example_id for inst in data]
    assert all(Counter(ids)[i] == len(task.groups) for i in ids)  # every example in each group
    assert task.dataset("dev") == data  # not redrawn
    a, b = data.queries("Pick the larger animal."), data.queries("Name the bigger one.")
    assert len(a) == len(b) == len(data)
    clean = next(inst for inst in data if inst.group == "clean")
    assert clean.render("Do X.") == f"Instruction: Do X.\n\nInput: {clean.input}\n\nOutput:"
    assert DEFAULT_TEMPLATE == "Instruction: [PROMPT]\n\nInput: [INPUT]\n\nOutput:"


def test_scores_group_means_and_report(load: Callable) -> None:
    task = load("sum")
    data = task.dataset("test", n=10)
    perfect = [inst.answers[0] for inst in data]
    assert data.score(perfect) == [1.0] * len(data)
    wrong_on_spacing = ["0" if inst.group == "spacing" else inst.answers[0] for inst in data]
    scores = data.score(wrong_on_spacing)
    means = data.group_means(scores)
    assert list(means) == list(task.groups)
    assert means["spacing"] == pytest.approx(
        sum(i.answers == ("0",) for i in data if i.group == "spacing") / 10
    )
    report = data.report(scores)
    assert report.worst_group_name == "spacing"
    assert report.shifted == pytest.approx(0.1 + 0.9 * (2 + means["spacing"]) / 3)
    with pytest.raises(ConfigError, match="one entry per instance"):
        data.score(perfect[:-1])


def test_round_robin_assignment(load: Callable) -> None:
    task = load("word_sorting")
    data = task.dataset("dev", n=18, assign="round_robin")
    assert len(data) == 18 and len(set(data.example_ids)) == 18
    counts = Counter(data.labels)
    assert set(counts) == set(task.groups) and max(counts.values()) - min(counts.values()) <= 1
    with pytest.raises(ConfigError, match="assign"):
        task.dataset("dev", assign="random")


def test_natural_group_datasets(load: Callable) -> None:
    task = load("orthography_starts_with")
    data = task.dataset("test", groups=task.natural_groups)
    assert Counter(data.labels) == {"in_domain": 50, "out_of_domain": 50}
    assert all(inst.input == e.input for inst, e in zip(data, task.test, strict=False))
    mixed = task.dataset("test", groups=["clean", "in_domain"], n=100)
    assert Counter(mixed.labels) == {"clean": 100, "in_domain": 50}


def test_group_validation(load: Callable) -> None:
    task = load("antonyms")
    with pytest.raises(ConfigError, match="not valid for task 'antonyms'"):
        task.instance(task.test[0], "typo")
    with pytest.raises(ConfigError, match="invalid groups"):
        task.dataset("test", groups=["clean", "order"])
    with pytest.raises(ConfigError, match="unknown split"):
        task.split("train")
    assert task.with_groups(["clean", "case"]).dataset("test", n=3).groups == ("clean", "case")


def test_demos_are_fixed_per_seed(load: Callable) -> None:
    task = load("negation")
    assert task.demos(5) == task.demos(5) and len(task.demos(5)) == 5
    assert set(task.demos(5)) <= set(task.induce)
    assert task.demos(5, seed=2) != task.demos(5)


def test_dataset_type(load: Callable) -> None:
    data = load("cs_algorithms").dataset("test", groups=["clean"])
    assert isinstance(data, Dataset) and data.split == "test" and data.metric == "em"
    assert data.inputs == [e.input for e in load("cs_algorithms").test]


def test_tasks_and_datasets_pickle(load: Callable) -> None:
    import pickle

    for name in ("word_in_context", "cs_algorithms", "bbii/snarks"):
        task = load(name)
        again = pickle.loads(pickle.dumps(task))
        assert again == task
        assert again.dataset("dev") == task.dataset("dev")
