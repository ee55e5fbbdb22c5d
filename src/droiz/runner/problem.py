"""What one run optimises: its groups, their dev and test instances, demos and mixtures.

A *group* pools ``(task, shift group)`` parts:

* ``shift`` (the default for one task): one group per shift group (``clean``, ``case``, ...); with
  several tasks each group pools that shift group of every task;
* ``tasks`` (the default for several tasks): one group per task, on its clean examples;
* ``both``: one group per task and shift group, named ``task/group``.

With ``--groups clusters:K`` (one task) the groups are ``K`` k-means clusters of the task's inputs
(:mod:`droiz.tasks.clusters`), which replace its own groups: natural groups on the clean inputs,
as a task file's ``group`` column makes. They are computed when the problem is built (loading the
sentence embedder), unless they are given (a resumed run reads them from its directory).

Every group has ``n_dev`` fixed dev examples per task (``task.dataset("dev", n=n_dev)``), so the
per-example score vector of an instruction has fixed, aligned columns, group after group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from droiz.exceptions import ConfigError
from droiz.runner.inputs import MetricCallable, is_python
from droiz.runner.loop.scoring import answer_score, checked_score
from droiz.runner.settings.checks import parse_reference
from droiz.runner.settings.config import RunConfig
from droiz.tasks import CLEAN, GroupReport, Instance, Task, load_task, summarize
from droiz.tasks.clusters import Clusters, check_cluster_count, cluster_task, clustered
from droiz.tasks.evaluation import test_mix, train_mix
from droiz.tasks.filters import parse_filter


@dataclass(frozen=True)
class GroupSpec:
    """One optimisation group: a name and the ``(task, shift group)`` parts it pools."""

    name: str
    parts: tuple[tuple[str, str], ...]


class Problem:
    """The groups, instances and mixtures of a run, built from its :class:`RunConfig`.

    Args:
        config: The run configuration.
        tasks: Already loaded tasks (tests); by default they are loaded from ``config``.
        clusters: The clusters of ``--groups clusters:K`` (a resumed run's saved assignment);
            ``None``: computed here, after the local checks (this loads the embedder).
        metric: The callable a ``python:NAME`` metric setting names.
    """

    def __init__(
        self,
        config: RunConfig,
        tasks: Sequence[Task] | None = None,
        *,
        clusters: Clusters | None = None,
        metric: MetricCallable | None = None,
    ) -> None:
        self.config = config
        self.tasks = list(tasks) if tasks is not None else load_tasks(config)
        self.clusters: Clusters | None = None
        if config.clusters is not None:
            self.clusters = clusters or run_clusters(config, self.tasks[0])
            self.tasks = [clustered(self.tasks[0], self.clusters)]
        self.metric_fn = metric
        self.metric: dict[str, str] = {
            t.name: config.metric if metric and config.metric else t.metric for t in self.tasks
        }
        self.answer_filter = parse_filter(config.answer_filter)
        self.mode = config.group_mode
        self.groups = build_groups(self.tasks, self.mode, config.shift_groups)
        self.names = [g.name for g in self.groups]
        if config.groups_per_round > self.n_groups:
            raise ConfigError(
                f"--groups-per-round {config.groups_per_round} is more than the run's "
                f"{self.n_groups} groups ({', '.join(self.names)})"
            )
        self.dev = [self._instances(g, "dev", config.n_dev) for g in self.groups]
        self.example_groups = [k for k, insts in enumerate(self.dev) for _ in insts]
        self.reference = self._reference(config.reference)

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def _instances(self, group: GroupSpec, split: str, n: int | None) -> list[Instance]:
        by_name = {t.name: t for t in self.tasks}
        out: list[Instance] = []
        for task_name, shift in group.parts:
            out += by_name[task_name].dataset(split, groups=[shift], n=n).instances
        if not out:
            raise ConfigError(f"group {group.name!r} has no {split} examples; choose other groups")
        return out

    def test_instances(self) -> list[list[Instance]]:
        """The test instances of every group (``n_test`` examples per task, default all)."""
        return [self._instances(g, "test", self.config.n_test) for g in self.groups]

    def demos(self) -> list[tuple[str, str]]:
        """``n_demos`` demonstrations ``(input, first gold)``, taken in turn from each task."""
        lists = [t.demos(self.config.n_demos) for t in self.tasks]
        mixed = [ex for row in zip(*lists, strict=False) for ex in row]
        return [(ex.input, ex.answers[0]) for ex in mixed[: self.config.n_demos]]

    def score(self, instance: Instance, prediction: str) -> float:
        """The instance's score of one raw prediction: the run's answer filter, then its task's
        metric (or the run's metric callable)."""
        name = self.metric[instance.task]
        if self.metric_fn is not None:
            value = self.metric_fn(self.answer_filter(prediction), list(instance.answers))
            return checked_score(name, value, instance)
        if is_python(name):
            raise ConfigError(
                f"the metric {name} is a Python callable: pass it to droiz.optimize(metric=...)"
            )
        return answer_score(name, self.answer_filter, instance, prediction)

    def mixtures(self) -> tuple[dict[str, float], dict[str, float]]:
        """Train and test mixes over the groups (see :mod:`droiz.tasks.evaluation`)."""
        if self.mode != "both":
            return train_mix(self.names), test_mix(self.names)
        train: dict[str, float] = {}
        test: dict[str, float] = {}
        for task in self.tasks:
            names = [g.name for g in self.groups if g.parts[0][0] == task.name]
            shifts = [g.split("/", 1)[1] for g in names]
            for name, p, q in zip(
                names, train_mix(shifts).values(), test_mix(shifts).values(), strict=True
            ):
                train[name], test[name] = p / len(self.tasks), q / len(self.tasks)
        return train, test

    def _reference(self, spec: str) -> tuple[float, ...]:
        parsed = parse_reference(spec, self.n_groups)
        if isinstance(parsed, tuple):
            return parsed
        if parsed == "uniform":
            return tuple(1.0 / self.n_groups for _ in self.names)
        train, _ = self.mixtures()  # "train-mix"
        return tuple(train[n] for n in self.names)

    def report(self, per_group: Mapping[str, float]) -> GroupReport:
        """All evaluation quantities of per-group accuracies (mixes as in :meth:`mixtures`)."""
        if self.mode != "both":
            return summarize(per_group)
        return composite_report(per_group, *self.mixtures())

    def saved_groups(self) -> list[dict[str, object]]:
        """The groups as saved in ``config.json`` (name, parts, dev size)."""
        return [
            {"name": g.name, "parts": [list(p) for p in g.parts], "n_dev": len(d)}
            for g, d in zip(self.groups, self.dev, strict=True)
        ]


def composite_report(
    per_group: Mapping[str, float], train: Mapping[str, float], test: Mapping[str, float]
) -> GroupReport:
    """A :class:`GroupReport` with given train and test mixes (``--groups both``)."""
    return summarize(per_group, train=train, test=test)


def load_tasks(config: RunConfig) -> list[Task]:
    """Load every task of the run with the run seed (and the run's metric, when it names one)."""
    metric = None if is_python(config.metric) else config.metric  # a callable: the task's own
    return [
        load_task(name, config.data_dir, seed=config.seed, metric=metric) for name in config.task
    ]


def check_problem(config: RunConfig) -> None:
    """The run's tasks read and checked, and ``--groups clusters:K`` against their size: the
    local checks of the problem, which need no model."""
    tasks = load_tasks(config)
    if config.clusters is not None:
        check_cluster_count(tasks[0], config.clusters)


def run_clusters(config: RunConfig, task: Task) -> Clusters:
    """The clusters of ``--groups clusters:K`` for ``task``: the count and the embedder's name
    are checked, then the inputs are embedded and clustered with the run seed."""
    k = config.clusters
    assert k is not None
    check_cluster_count(task, k)
    if config.embedder:
        from droiz.llm.checks import check_model_name

        check_model_name("--embedder", config.embedder)
    return cluster_task(task, k, seed=config.seed, embedder=config.embedder)


def build_groups(
    tasks: Sequence[Task], mode: str, shift_groups: Sequence[str] | None = None
) -> list[GroupSpec]:
    """The groups of a run (see the module docstring)."""
    if mode == "tasks":
        return [GroupSpec(t.name, ((t.name, _clean_of(t)),)) for t in tasks]
    chosen = [t.with_groups(shift_groups).groups if shift_groups else t.groups for t in tasks]
    if mode == "both":
        return [
            GroupSpec(f"{t.name}/{g}", ((t.name, g),))
            for t, names in zip(tasks, chosen, strict=True)
            for g in names
        ]
    common = [g for g in chosen[0] if all(g in other for other in chosen[1:])]
    if not common:
        raise ConfigError(
            f"the tasks {', '.join(t.name for t in tasks)} share no shift group; use "
            "--groups tasks or --groups both"
        )
    return [GroupSpec(g, tuple((t.name, g) for t in tasks)) for g in common]


def _clean_of(task: Task) -> str:
    """The group a task contributes in ``tasks`` mode: ``clean``, else its first group."""
    return CLEAN if CLEAN in task.valid_groups else task.groups[0]
