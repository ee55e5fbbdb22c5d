"""Tasks, metrics and distribution-shift groups.

Quick tour::

    from droiz.tasks import load_task, score

    task = load_task("sum", data_dir="../shared/data", seed=0)
    task.sizes                        # {"induce": 100, "dev": 4850, "test": 100}
    task.groups                       # ("clean", "format", "distractor", "spacing")
    dev = task.dataset("dev")         # 20 fixed dev examples x every group, paired
    queries = dev.queries(instruction)            # what the black-box LLM is asked
    scores = dev.score(predictions)               # per-instance scores in [0, 1]
    dev.group_means(scores)                       # {"clean": ..., "format": ..., ...}
    dev.report(scores).worst_group                # see droiz.tasks.evaluation

    score("em", "P l a c e.", ["place"])          # 1.0

A custom task is a ``.jsonl`` or ``.csv`` file (see :mod:`droiz.tasks.custom`); pass its path
wherever a task name is accepted. Heavy dependencies (torch) are imported only by
:func:`droiz.tasks.evaluation.summarize`.
"""

from __future__ import annotations

import os
from pathlib import Path

from droiz.tasks.base import DEFAULT_TEMPLATE, Dataset, Example, Instance
from droiz.tasks.catalog import BBII_TASKS, BENCHMARK_TASKS, II_TASKS, IZ_TASKS, builtin_names
from droiz.tasks.datadir import ENV_VAR, default_download_dir, resolve_data_dir
from droiz.tasks.evaluation import (
    CLEAN,
    GroupReport,
    group_accuracy,
    mixture,
    summarize,
    test_mix,
    train_mix,
)
from droiz.tasks.metrics import METRICS, normalize, score
from droiz.tasks.shifts import SHIFT_GROUPS
from droiz.tasks.task import DEV_SIZE, Task

__all__ = [
    "BBII_TASKS",
    "BENCHMARK_TASKS",
    "CLEAN",
    "DEFAULT_TEMPLATE",
    "DEV_SIZE",
    "ENV_VAR",
    "II_TASKS",
    "IZ_TASKS",
    "METRICS",
    "SHIFT_GROUPS",
    "Dataset",
    "Example",
    "GroupReport",
    "Instance",
    "Task",
    "default_download_dir",
    "group_accuracy",
    "list_tasks",
    "load_task",
    "mixture",
    "normalize",
    "resolve_data_dir",
    "score",
    "summarize",
    "test_mix",
    "train_mix",
]

test_mix.__test__ = False  # type: ignore[attr-defined]  # keep pytest from collecting it


def list_tasks() -> list[str]:
    """Names of the built-in tasks: 24 instruction-induction, 9 InstructZero, 22 BBII."""
    return builtin_names()


def load_task(
    name_or_path: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    metric: str | None = None,
    groups: list[str] | tuple[str, ...] | None = None,
) -> Task:
    """Load a built-in task by name, or a custom task from a ``.jsonl`` / ``.csv`` file.

    Args:
        name_or_path: Built-in name (``"sum"``, ``"bbii/snarks"``, alias ``"ascii"``) or the
            path of a task file.
        data_dir: Data directory for built-in tasks (else ``DROIZ_DATA_DIR``, else the
            ``droiz data download`` folder).
        seed: Run seed: keys the dev subset, the demos and the perturbations.
        metric: Metric name; required meaning for custom files (default ``em``), an override
            for built-in tasks.
        groups: Default groups of the task (validated against the groups it supports).

    Raises:
        DataError: Missing or malformed files, empty splits, mismatched examples.
        UnknownNameError: Unknown task or metric name (with a "did you mean").
    """
    from droiz.tasks.builtin import load_builtin
    from droiz.tasks.custom import is_task_file, load_custom
    from droiz.tasks.metrics import DEFAULT_METRIC, check_metric

    if is_task_file(name_or_path):
        task = load_custom(Path(name_or_path), metric=metric or DEFAULT_METRIC, seed=seed)
    else:
        task = load_builtin(str(name_or_path), data_dir, seed)
        if metric is not None and metric != task.metric:
            task = _replace_metric(task, check_metric(metric))
    return task.with_groups(groups) if groups else task


def _replace_metric(task: Task, metric: str) -> Task:
    import dataclasses

    return dataclasses.replace(task, metric=metric)
