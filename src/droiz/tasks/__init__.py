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

:func:`load_task` takes a task name or file through four stages, each once and each in its own
module:

1. loading (:mod:`droiz.tasks.loaders`): the examples as read, with the metric the data define;
2. splitting (:mod:`droiz.tasks.splits`): induce (demonstrations), dev and test;
3. grouping (:mod:`droiz.tasks.groups`): the shift profile, the natural and the default groups;
4. scoring (:mod:`droiz.tasks.metrics`): the metric the task is scored with.

The result is a :class:`Task` (:mod:`droiz.tasks.task`), which builds the instances of its groups
(:mod:`droiz.tasks.shifts`) and scores them.
"""

from __future__ import annotations

import logging
import os

from droiz.tasks.base import DEFAULT_TEMPLATE, Dataset, Example, Instance
from droiz.tasks.catalog import BBII_TASKS, BENCHMARK_TASKS, II_TASKS, IZ_TASKS, list_tasks
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
from droiz.tasks.groups import default_groups, natural_labels, shift_profile
from droiz.tasks.loaders import read_task
from droiz.tasks.metrics import DEFAULT_METRIC, METRICS, check_metric, normalize, score
from droiz.tasks.shifts import SHIFT_GROUPS
from droiz.tasks.splits import split_task
from droiz.tasks.task import DEV_SIZE, Task

logger = logging.getLogger(__name__)

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
        metric: Metric name: a task file's metric (default ``em``); for a built-in task, an
            override of the scoring only (its groups follow the metric its data define).
        groups: Default groups of the task (validated against the groups it supports).

    Raises:
        DataError: Missing or malformed files, empty splits, mismatched examples.
        UnknownNameError: Unknown task or metric name (with a "did you mean").
    """
    requested = None if metric is None else check_metric(metric)
    data = read_task(name_or_path, data_dir)
    if requested is not None and data.metric is not None and requested != data.metric:
        logger.warning(
            "--metric %s overrides the metric of the built-in task %s (%s) for scoring; its "
            "groups still follow %s",
            requested,
            data.name,
            data.metric,
            data.metric,
        )
    splits = split_task(data)
    own_metric = data.metric or requested or DEFAULT_METRIC
    profile = shift_profile(data.name, data.source, own_metric)
    natural = natural_labels([*splits.test, *splits.induce, *splits.dev])
    task = Task(
        name=data.name,
        source=data.source,
        metric=requested or own_metric,
        induce=splits.induce,
        dev=splits.dev,
        test=splits.test,
        groups=default_groups(profile, natural, data.source),
        seed=int(seed),
        natural_groups=natural,
        notes=(*data.notes, *splits.notes),
        files=data.files,
        profile=profile,
    )
    return task.with_groups(groups) if groups else task
