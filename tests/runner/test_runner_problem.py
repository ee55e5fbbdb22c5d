"""Groups of a run (shift, tasks, both), their dev layout, mixtures and a multi-task run."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import read_best, run_settings

import droiz
from droiz.runner import RunConfig
from droiz.runner.loop.scoring import llm_template
from droiz.runner.problem import Problem
from droiz.tasks import summarize
from droiz.testing import FakeOpenAIServer, InstructionWorld


def _config(tasks: list[str], data_dir: Path, **extra: object) -> RunConfig:
    return RunConfig(
        task=tuple(tasks),
        generator="pool:p",
        executor="openai:m",
        data_dir=str(data_dir),
        n_dev=3,
        **extra,
    )


def test_one_task_has_its_shift_groups_with_aligned_dev_columns(data_dir: Path) -> None:
    problem = Problem(_config(["antonyms"], data_dir))
    assert problem.names == ["clean", "case", "format", "distractor"]
    assert [len(d) for d in problem.dev] == [3, 3, 3, 3]
    assert problem.example_groups == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    ids = [[i.example_id for i in group] for group in problem.dev]
    assert all(g == ids[0] for g in ids), "every group perturbs the same dev examples"
    assert problem.reference == pytest.approx((0.5, 1 / 6, 1 / 6, 1 / 6))
    assert len(problem.demos()) == 5
    report = problem.report({"clean": 1.0, "case": 0.5, "format": 0.0, "distractor": 0.5})
    assert report == summarize({"clean": 1.0, "case": 0.5, "format": 0.0, "distractor": 0.5})


def test_several_tasks(data_dir: Path) -> None:
    tasks = Problem(_config(["antonyms", "sum"], data_dir, reference="uniform"))
    assert tasks.mode == "tasks" and tasks.names == ["antonyms", "sum"]
    assert all(i.group == "clean" for d in tasks.dev for i in d)
    assert tasks.reference == (0.5, 0.5)
    demos = tasks.demos()
    assert len(demos) == 5 and any(d[0].isalpha() for d in demos)

    shift = Problem(_config(["antonyms", "sum"], data_dir, groups="shift"))
    assert shift.names == ["clean", "format", "distractor"]  # the groups both tasks have
    assert [len(d) for d in shift.dev] == [6, 6, 6]

    both = Problem(_config(["antonyms", "sum"], data_dir, groups="both"))
    assert both.names[:2] == ["antonyms/clean", "antonyms/case"] and len(both.names) == 8
    assert sum(both.reference) == pytest.approx(1.0)
    assert both.reference[0] == pytest.approx(0.25)  # half of a task's weight on its clean group
    _, test = both.mixtures()
    assert sum(test.values()) == pytest.approx(1.0) and test["sum/clean"] == pytest.approx(0.05)
    per_group = dict.fromkeys(both.names, 1.0) | {"sum/spacing": 0.0}
    report = both.report(per_group)
    assert report.worst_group_name == "sum/spacing" and report.shifted == pytest.approx(1 - 0.15)


def test_format_templates_reach_the_executor_in_its_spelling() -> None:
    assert llm_template(None) == "Instruction: [PROMPT]\n\nInput: [INPUT]\n\nOutput:"
    assert llm_template("{instruction}\n\nQ: {input}\nA:") == "[PROMPT]\n\nQ: [INPUT]\nA:"


def test_a_multi_task_run_uses_tasks_as_groups(
    world: InstructionWorld, world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    second = InstructionWorld("small", seed=1).write_task(tmp_path / "other.jsonl")
    settings = run_settings(world_files, world_server, budget=20, n_init=10)
    settings["task"] = f"{world_files['task']},{second}"
    result = droiz.optimize(out=tmp_path / "run", **settings)
    best = read_best(tmp_path / "run")
    assert best["groups"] == ["reverse", "other"] and best["task"] == settings["task"].split(",")
    assert set(result.test.per_group) == {"reverse", "other"}
    assert best["test"]["n_examples"] == {"reverse": 40, "other": 40}
