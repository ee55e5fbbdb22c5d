"""What :func:`droiz.optimize` takes besides its settings: the task, the generator, the executor and
the metric, each as a setting or as a Python value.

=========  ==============================================  =========================================
argument   forms                                           in the run's settings (``config.json``)
=========  ==============================================  =========================================
task       a name or file, several, or a list of dicts     the names or files; a list of dicts is
           (``input``, ``output``, optional ``group``,     written to ``RUN_DIR/examples.jsonl``, a
           ``id``, ``split``: a task file's rows)          task file, and named by its path
generator  a spec, a :class:`~droiz.llm.Generator`, or a   the spec; ``python:NAME``; ``pool:`` and
           list of candidate instructions                  ``RUN_DIR/candidates.json``
executor   a spec, an :class:`~droiz.llm.Executor`, or a   the spec; ``python:NAME``
           callable ``list[str] -> list[str]``
metric     a metric name, or a callable                    the name; ``python:NAME``
           ``(answer, golds) -> float``
=========  ==============================================  =========================================

Examples and candidates are saved in the run directory, so the run resumes (from Python or with
``droiz resume``) without them. Objects cannot be saved: a run made with one resumes from Python,
given the same object (the same name) again, and ``droiz resume`` refuses it in one line. A
callable's name (:func:`~droiz.llm.callables.callable_name`) identifies its answers in the
response cache and its scores in the fingerprints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from droiz.exceptions import ConfigError
from droiz.llm.base import Executor, Generator
from droiz.llm.callables import (
    PYTHON,
    CallableExecutor,
    callable_name,
    object_name,
    python_only,
    python_spec,
)
from droiz.runner.settings.config import RunConfig
from droiz.runner.store.atomic import write_atomic
from droiz.runner.store.rundir import RunDir
from droiz.tasks.custom import check_records
from droiz.validate import Claim, claim_dir

MetricCallable = Callable[[str, list[str]], float]
"""A metric given as a callable: the (filtered) answer and the golds in, a score in [0, 1] out."""

TaskArg = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Sequence[Mapping[str, Any]]
"""A task name or file, several, or a list of examples."""
GeneratorArg = str | Generator | Sequence[str]
"""A generator spec, a :class:`~droiz.llm.Generator`, or a list of candidate instructions."""
ExecutorArg = str | Executor | Callable[[list[str]], list[str]]
"""An executor spec, an :class:`~droiz.llm.Executor`, or a callable ``prompts -> answers``."""
MetricArg = str | MetricCallable
"""A metric name, or a callable ``(answer, golds) -> float``."""


@dataclass(frozen=True)
class CallableMetric:
    """A metric callable with its name (see :func:`callable_metric`)."""

    fn: MetricCallable
    name: str

    def __call__(self, answer: str, golds: list[str]) -> float:
        return self.fn(answer, golds)


def callable_metric(fn: MetricCallable, *, name: str | None = None) -> CallableMetric:
    """A callable ``(answer, golds) -> float`` in ``[0, 1]`` as a run's metric, named ``name``
    (default: its ``name`` attribute or qualified name; a lambda needs one). The answer is the
    executor's, after the run's answer filter; ``golds`` are the example's acceptable answers."""
    if isinstance(fn, CallableMetric):
        return fn if name is None else CallableMetric(fn.fn, callable_name(fn.fn, name, "metric"))
    if not callable(fn):
        raise ConfigError(f"the metric must be a name or a callable, got {type(fn).__name__}")
    return CallableMetric(fn, callable_name(fn, name, "metric"))


def is_python(spec: str | None) -> bool:
    """Whether a setting names a Python object (``python:NAME``)."""
    return isinstance(spec, str) and spec.partition(":")[0] == PYTHON


@dataclass(frozen=True)
class RunObjects:
    """The Python objects a run's ``python:NAME`` settings stand for."""

    executor: Executor | None = None
    generator: Generator | None = None
    metric: CallableMetric | None = None

    def check(self, config: RunConfig) -> None:
        """Every ``python:NAME`` setting has its object (a resume from the command line has
        none), and a generator object expects the run's soft-prompt dimension."""
        given = {"executor": self.executor, "generator": self.generator, "metric": self.metric}
        for role, obj in given.items():
            spec = getattr(config, role)
            if is_python(spec) and obj is None:
                raise ConfigError(python_only(f"--{role}", spec.partition(":")[2]))
        dim = getattr(self.generator, "dim", None)
        if dim is not None and dim != config.dim:
            raise ConfigError(
                f"the generator expects soft prompts of dimension {dim}, but the run's dim is "
                f"{config.dim}; pass dim={dim}"
            )


@dataclass(frozen=True)
class RunInputs:
    """The task, generator, executor and metric of a :func:`droiz.optimize` call, as settings
    (``None``: not given), objects, and the files the run directory gets.

    Attributes:
        settings: ``task``, ``generator``, ``executor`` and ``metric`` as settings.
        objects: The objects behind ``python:NAME`` settings.
        examples: A task given as examples: the text of ``examples.jsonl``.
        candidates: Candidate instructions given as a list (written to ``candidates.json``).
    """

    settings: dict[str, Any]
    objects: RunObjects = field(default_factory=RunObjects)
    examples: str | None = None
    candidates: list[str] | None = None

    @classmethod
    def of(
        cls,
        run_dir: RunDir,
        task: TaskArg | None,
        generator: GeneratorArg | None,
        executor: ExecutorArg | None,
        metric: MetricArg | None,
    ) -> RunInputs:
        """Check the values in memory (nothing is written) and turn them into settings."""
        settings: dict[str, Any] = {}
        examples = candidates = None
        text = ""
        if _is_examples(task):
            examples = check_records(task, "task")
            text = "".join(_jsonl(row) for row in examples)  # JSON now, before anything runs
            settings["task"] = str(run_dir.examples.absolute())
        else:
            settings["task"] = _task_names(task)
        gen_obj: Generator | None = None
        if isinstance(generator, Generator):
            gen_obj, settings["generator"] = generator, python_spec(object_name(generator))
        elif generator is not None and not isinstance(generator, str):
            candidates = _candidates(generator)
            settings["generator"] = f"pool:{run_dir.candidates.absolute()}"
        else:
            settings["generator"] = generator
        exe_obj: Executor | None = None
        if isinstance(executor, Executor):
            exe_obj = executor
        elif executor is not None and not isinstance(executor, str):
            exe_obj = CallableExecutor(executor)
        settings["executor"] = python_spec(object_name(exe_obj)) if exe_obj else executor
        metric_obj = None
        if metric is not None and not isinstance(metric, str):
            metric_obj = callable_metric(metric)
            settings["metric"] = python_spec(metric_obj.name)
        else:
            settings["metric"] = metric
        objects = RunObjects(exe_obj, gen_obj, metric_obj)
        return cls(settings, objects, text if examples else None, candidates)

    def save(self, run_dir: RunDir, *, resume: bool) -> Claim:
        """Write the examples and candidates into the run directory; a resumed run checks that
        those given again are the saved ones. Returns the :class:`~droiz.validate.Claim` of what
        it created (the files, the directory if it was missing), for the caller to remove if a
        check refuses the run before it starts."""
        files = []
        if self.examples is not None:
            files.append((run_dir.examples, self.examples, "examples"))
        if self.candidates is not None:
            text = json.dumps(self.candidates, indent=2, ensure_ascii=False) + "\n"
            files.append((run_dir.candidates, text, "candidates"))
        claim = Claim(run_dir.path)
        if files and not resume:
            claim = claim_dir(run_dir.path, "--out")
        for path, text, what in files:
            if not resume:
                existed = path.exists()
                write_atomic(path, text)
                if not existed:
                    claim.created.append(path)
                continue
            try:
                same = path.read_text(encoding="utf-8") == text
            except OSError:
                same = False
            if not same:
                raise ConfigError(
                    f"cannot resume {run_dir} with other {what} than it was started with "
                    f"(its {path.name}); leave them out to continue the run, or start a new run "
                    "with another out="
                )
        return claim


def _is_examples(task: object) -> TypeGuard[Sequence[Mapping[str, Any]]]:
    return (
        isinstance(task, Sequence)
        and not isinstance(task, str | bytes)
        and any(isinstance(item, Mapping) for item in task)
    )


def _task_names(task: object) -> object:
    if task is None or isinstance(task, str):
        return task
    if isinstance(task, os.PathLike):
        return os.fspath(task)
    if isinstance(task, Sequence) and not isinstance(task, bytes):
        return [os.fspath(t) if isinstance(t, os.PathLike) else t for t in task]
    return task  # refused by the task setting's own check, with its message


def _candidates(values: object) -> list[str]:
    if not isinstance(values, Sequence) or isinstance(values, bytes):
        raise ConfigError(
            "the generator must be a spec (hf:, api:, pool:), a Generator or a list of "
            f"candidate instructions, got {type(values).__name__}"
        )
    bad = [type(v).__name__ for v in values if not isinstance(v, str)]
    if bad:
        raise ConfigError(f"the candidate instructions must be strings, got a {bad[0]}")
    out = [v.strip() for v in values if v.strip()]
    if not out:
        raise ConfigError("the list of candidate instructions is empty")
    return out


def _jsonl(row: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(row), ensure_ascii=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"an example cannot be written as JSON ({exc})") from None
