"""The data objects of a task: :class:`Example`, :class:`Instance` and :class:`Dataset`.

- An :class:`Example` is one base item of a task file: a stable id, the input text, the tuple of
  acceptable gold answers, an optional natural group label and the raw fields.
- An :class:`Instance` is an example as seen under one group (clean or perturbed): the input the
  black-box LLM receives, the gold answers valid for that input and the query template to use.
- A :class:`Dataset` is an ordered list of instances (e.g. 20 dev examples x K groups) with the
  scoring and per-group helpers the optimiser needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from droiz.exceptions import ConfigError
from droiz.tasks.evaluation import GroupReport, group_accuracy, summarize
from droiz.tasks.metrics import score

DEFAULT_TEMPLATE = "Instruction: [PROMPT]\n\nInput: [INPUT]\n\nOutput:"
"""Execution template used when an instance does not set its own; the executors' default too.
InstructZero's own: :data:`IZ_DEV_TEMPLATE` and :data:`IZ_TEST_TEMPLATE`."""

IZ_DEV_TEMPLATE = "Instruction: [PROMPT]\n\nInput: [INPUT]\n Output: [OUTPUT]"
"""InstructZero's validation template."""

IZ_TEST_TEMPLATE = "Instruction: [PROMPT]\n\nInput: [INPUT]\n\nOUTPUT: [OUTPUT]"
"""InstructZero's test template."""

_FIELD = re.compile(r"\[(PROMPT|INPUT|OUTPUT)\]")

__all__ = [
    "DEFAULT_TEMPLATE",
    "IZ_DEV_TEMPLATE",
    "IZ_TEST_TEMPLATE",
    "Dataset",
    "Example",
    "Instance",
    "fill_template",
]


def fill_template(template: str, instruction: str, input_text: str) -> str:
    """Fill ``[PROMPT]`` (the instruction), ``[INPUT]`` and ``[OUTPUT]`` (empty) in one pass.

    The spelling is InstructZero's, as in :func:`droiz.llm.prompts.render_prompt`, which renders
    the same text; placeholders inside the values are inserted verbatim.
    """
    values = {"PROMPT": instruction, "INPUT": input_text, "OUTPUT": ""}
    return _FIELD.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class Example:
    """One base example of a task.

    Attributes:
        id: Stable id, unique within the task (e.g. ``"execute-17"`` for the 17th entry of the
            execute file, ``"ex-5"`` for BBII, ``"line-3"`` or the file's own id for custom tasks).
        input: The input text, as the loader builds it (quirk fixes applied).
        answers: The acceptable gold answers (at least one).
        group: Natural group label (e.g. ``"in_domain"``), or ``None``.
        fields: The raw fields of the file entry (a copy; treat as read-only; not part of
            equality or hashing).
    """

    id: str
    input: str
    answers: tuple[str, ...]
    group: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(self.answers))
        object.__setattr__(self, "fields", dict(self.fields or {}))


@dataclass(frozen=True)
class Instance:
    """An example under one group: what the black-box LLM is asked and what counts as correct.

    Attributes:
        task: Task name.
        example_id: Id of the base :class:`Example`.
        group: Group name (``"clean"``, ``"case"``, ``"typo"``, ... or a natural label).
        input: The (possibly perturbed) input text.
        answers: Gold answers valid for this input (recomputed or co-transformed where needed).
        template: Execution template with ``[PROMPT]`` and ``[INPUT]``, or ``None`` to use the
            caller's default (only the ``format`` group sets one).
        changed: Whether the query differs from the clean one (input or template).
    """

    task: str
    example_id: str
    group: str
    input: str
    answers: tuple[str, ...]
    template: str | None = None
    changed: bool = False

    def render(self, instruction: str, default_template: str = DEFAULT_TEMPLATE) -> str:
        """The full query text for ``instruction``.

        Args:
            instruction: The instruction under evaluation.
            default_template: Template used when the instance sets none (e.g. the runner's).
        """
        return fill_template(self.template or default_template, instruction, self.input)


@dataclass(frozen=True)
class Dataset:
    """An ordered list of instances of one task split, with scoring helpers.

    Attributes:
        task: Task name.
        split: Split the examples come from (``"induce"``, ``"dev"`` or ``"test"``).
        metric: Metric name used by :meth:`score`.
        groups: The groups, in report order.
        instances: The instances; with paired groups, example-major (all groups of the first
            example, then the next example).
    """

    task: str
    split: str
    metric: str
    groups: tuple[str, ...]
    instances: tuple[Instance, ...]

    def __len__(self) -> int:
        return len(self.instances)

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __getitem__(self, index: int) -> Instance:
        return self.instances[index]

    @property
    def inputs(self) -> list[str]:
        """The input of every instance."""
        return [inst.input for inst in self.instances]

    @property
    def labels(self) -> list[str]:
        """The group of every instance."""
        return [inst.group for inst in self.instances]

    @property
    def example_ids(self) -> list[str]:
        """The base example id of every instance."""
        return [inst.example_id for inst in self.instances]

    def queries(self, instruction: str, default_template: str = DEFAULT_TEMPLATE) -> list[str]:
        """The rendered query of every instance for one instruction."""
        return [inst.render(instruction, default_template) for inst in self.instances]

    def score(self, predictions: Sequence[str]) -> list[float]:
        """Per-instance scores of the predictions (aligned with the instances)."""
        self._check_length(predictions, "predictions")
        return [
            score(self.metric, pred, list(inst.answers))
            for pred, inst in zip(predictions, self.instances, strict=True)
        ]

    def group_means(self, scores: Sequence[float]) -> dict[str, float]:
        """Per-group mean of per-instance scores, in the order of :attr:`groups`.

        Groups without instances are left out.
        """
        self._check_length(scores, "scores")
        means = group_accuracy(scores, self.labels)
        return {g: means[g] for g in self.groups if g in means}

    def report(self, scores: Sequence[float], **kwargs: Any) -> GroupReport:
        """All evaluation quantities (:func:`droiz.tasks.evaluation.summarize`) of the scores."""
        return summarize(self.group_means(scores), **kwargs)

    def _check_length(self, values: Sequence[Any], what: str) -> None:
        if len(values) != len(self.instances):
            raise ConfigError(
                f"{what} must have one entry per instance ({len(self.instances)}), "
                f"got {len(values)}"
            )
