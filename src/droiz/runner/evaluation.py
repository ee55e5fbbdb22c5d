"""``droiz evaluate``: score one instruction on a task's groups with a black-box LLM.

Per-group, mean, worst-group, shifted-mixture and KL worst-case scores come from
:mod:`droiz.tasks.evaluation` (through :meth:`~droiz.tasks.Dataset.report`), the one place where
they are defined. Answers go through the response cache, so repeating an evaluation is free.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from droiz.llm import Executor, ResponseCache
from droiz.runner.loop.scoring import answer_score, score_instances
from droiz.tasks import Dataset, GroupReport, Instance, Task, load_task
from droiz.tasks.filters import AnswerFilter


@dataclass
class EvaluationResult:
    """One instruction's scores on one split of a task.

    Attributes:
        task: Task name. split: ``dev`` or ``test``. instruction: The instruction evaluated.
        groups: The groups, in report order.
        examples: One dict per instance: ``example_id``, ``group``, ``input``, ``answers``,
            ``prediction`` (the raw answer), ``score``, and with an answer filter ``filtered``
            (what the metric scored).
        report: Per-group, mean, worst-group, shifted-mixture and KL worst-case scores.
        stats: LLM usage: ``requests`` (sent, retries included), ``cache_hits``,
            ``cache_misses``, ``prompt_tokens``, ``completion_tokens``, ``cost``.
    """

    task: str
    split: str
    instruction: str
    groups: list[str]
    examples: list[dict[str, Any]]
    report: GroupReport
    stats: dict[str, float] = field(default_factory=dict)
    answer_filter: str | None = None

    @property
    def per_group(self) -> dict[str, float]:
        return dict(self.report.per_group)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` payload."""
        return {
            "task": self.task,
            "split": self.split,
            "instruction": self.instruction,
            "answer_filter": self.answer_filter,
            "groups": list(self.groups),
            "per_group": self.per_group,
            "mean": self.report.mean,
            "worst_group": self.report.worst_group,
            "worst_group_name": self.report.worst_group_name,
            "shifted": self.report.shifted,
            "report": self.report.to_dict(),
            "stats": dict(self.stats),
            "examples": list(self.examples),
        }


def evaluate(
    task: str | os.PathLike[str] | Task,
    instruction: str,
    *,
    executor: str | Executor,
    split: str = "test",
    groups: Sequence[str] | str | None = None,
    n: int | None = None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_namespace: str | None = None,
    concurrency: int | None = None,
    seed: int = 0,
    executor_options: Mapping[str, Any] | None = None,
    answer_filter: str | Sequence[str] | None = None,
    max_answer_tokens: int | None = None,
) -> EvaluationResult:
    """Score ``instruction`` on a task split, group by group.

    Args:
        task: Task name, task file, or a loaded :class:`~droiz.tasks.Task`.
        instruction: The instruction to evaluate (not blank).
        executor: ``openai:MODEL`` / ``hf:PATH``, or an executor object (used as is).
        split: ``test`` (default) or ``dev`` (the fixed dev subset of ``n`` examples, default 20).
        groups: Group names (a list or a comma-separated string); default: the task's groups.
        n: Base examples (default: all of ``test``, 20 of ``dev``).
        base_url, api_key_env, cache_namespace, concurrency: ``openai`` executor settings;
            ``api_key_env`` names the variable holding the key.
        data_dir, cache_dir: Data directory and response-cache directory.
        seed: Seed of the dev subset and the perturbations.
        executor_options: Further executor options (``temperature``, ``retry``, ...).
        answer_filter: Answer filters applied in order before the metric, ``"NAME[,NAME...]"``
            or a list (see :mod:`droiz.tasks.filters`); default none (the raw answer is scored).
        max_answer_tokens: Answer length limit of the executor (default: the executor's).
    """
    from droiz.llm.backends import build_executor, check_executor
    from droiz.runner.settings.config import settings_for
    from droiz.runner.settings.schema import EVALUATE, check_values
    from droiz.tasks.filters import parse_filter
    from droiz.validate import check_dir_path

    given = check_values(
        {
            "instruction": instruction,
            "executor": executor if isinstance(executor, str) else None,
            "split": split,
            "groups": groups,
            "n": n,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "data_dir": data_dir,
            "cache_dir": cache_dir,
            "cache_namespace": cache_namespace,
            "concurrency": concurrency,
            "seed": seed,
            "executor_options": executor_options,
            "answer_filter": answer_filter,
            "max_answer_tokens": max_answer_tokens,
        },
        settings_for(EVALUATE),
    )
    if cache_dir is not None:
        check_dir_path(cache_dir, "--cache-dir")
    chain = parse_filter(given.get("answer_filter"))  # bad names fail before anything loads
    loaded = task if isinstance(task, Task) else load_task(task, data_dir, seed=seed)
    names = given.get("groups")
    dataset = loaded.dataset(split, groups=list(names) if names else None, n=n, seed=seed)
    if not isinstance(executor, str):
        return _evaluate_with(dataset, instruction, executor, chain)
    check_executor(executor, executor_options or {})
    cache = ResponseCache(cache_dir)
    try:
        backend = build_executor(
            executor,
            cache=cache,
            base_url=base_url,
            api_key_env=api_key_env,
            cache_namespace=cache_namespace,
            concurrency=concurrency,
            options=executor_options,
            max_answer_tokens=max_answer_tokens,
        )
        return _evaluate_with(dataset, instruction, backend, chain)
    finally:
        cache.close()


def _evaluate_with(
    dataset: Dataset, instruction: str, executor: Executor, chain: AnswerFilter
) -> EvaluationResult:
    before = executor.stats.snapshot()

    def score_fn(inst: Instance, prediction: str) -> float:
        return answer_score(dataset.metric, chain, inst, prediction)

    predictions, scores = score_instances(score_fn, executor, instruction, dataset.instances)
    examples = []
    for inst, pred, s in zip(dataset.instances, predictions, scores, strict=True):
        example = {
            "example_id": inst.example_id,
            "group": inst.group,
            "input": inst.input,
            "answers": list(inst.answers),
            "prediction": pred,
            "score": s,
        }
        if chain:
            example["filtered"] = chain(pred)
        examples.append(example)
    stats = (executor.stats.snapshot() - before).as_dict()
    return EvaluationResult(
        task=dataset.task,
        split=dataset.split,
        instruction=instruction,
        groups=list(dataset.groups),
        examples=examples,
        report=dataset.report(scores),
        stats=stats,
        answer_filter=chain.spec,
    )
