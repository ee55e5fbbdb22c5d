"""Running an instruction on instances and scoring the answers, the one place for the loop (dev
measurements, the test split) and ``droiz evaluate``: the executor request of an instance, then
the answer filter and the task's metric, checked to be a number in [0, 1]."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from droiz.exceptions import DataError
from droiz.llm import DEFAULT_TEMPLATE, ExecRequest, Executor
from droiz.tasks import Instance, score
from droiz.tasks.filters import AnswerFilter

ScoreFn = Callable[[Instance, str], float]
"""The score of one instance's raw answer."""


def llm_template(template: str | None) -> str:
    """A task instance's template (``{instruction}``/``{input}``) in the executor's spelling."""
    if template is None:
        return DEFAULT_TEMPLATE
    return template.replace("{instruction}", "[PROMPT]").replace("{input}", "[INPUT]")


def exec_request(instruction: str, instance: Instance) -> ExecRequest:
    """The executor request of one instance for one instruction."""
    return ExecRequest(instruction, instance.input, llm_template(instance.template))


def answer_score(
    metric: str, answer_filter: AnswerFilter, instance: Instance, prediction: str
) -> float:
    """The score of one raw ``prediction``: ``answer_filter``, then ``metric`` against the
    instance's answers."""
    value = score(metric, answer_filter(prediction), list(instance.answers))
    return checked_score(metric, value, instance)


def checked_score(metric: str, value: float, instance: Instance) -> float:
    """``value`` as a float; a metric score that is not a number in [0, 1] raises."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not 0.0 <= number <= 1.0:  # NaN fails too
        raise DataError(
            f"metric {metric!r} scored example {instance.example_id!r} of task {instance.task!r} "
            f"{value!r}; the runner needs scores in [0, 1] (fix the metric)"
        )
    return number


def score_instances(
    score_fn: ScoreFn, executor: Executor, instruction: str, instances: Sequence[Instance]
) -> tuple[list[str], list[float]]:
    """Run ``instruction`` on every instance (one batch) and score the answers, in order."""
    requests = [exec_request(instruction, inst) for inst in instances]
    predictions = executor.execute(requests) if requests else []
    scores = [score_fn(inst, p) for inst, p in zip(instances, predictions, strict=True)]
    return predictions, scores
