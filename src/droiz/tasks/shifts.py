"""Shift groups: seeded, paired perturbations of a task's examples that keep the gold valid.

The groups (which ones a task uses: :mod:`droiz.tasks.groups`):

==========  ==================================================================================
clean       the example as loaded
case        one of UPPER / lower / Title (per example, among those that change it) on content
typo        one interior edit (swap, deletion, QWERTY insertion or substitution) per chosen word
format      an alternative execution template (F1-F4); the input is untouched
distractor  one neutral sentence appended on its own line (a ``# note:`` comment for code)
order       list items permuted (list tasks only)
spacing     whitespace / separator layout of the input (only for tasks where fewer than three
            of the groups above apply: numbers, code, ASCII art)
==========  ==================================================================================

A group keeps the gold valid in one of three ways (:class:`ShiftProfile`): ``keep`` (the gold is
unchanged), ``recompute`` (the gold is recomputed by an oracle) or ``cotransform`` (the answer is
copied from the input, so the same edit is applied to it and both golds are accepted). Every draw
is keyed on ``(task, example id, group, seed)``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from droiz.exceptions import ConfigError
from droiz.tasks.base import Example, Instance
from droiz.tasks.evaluation import CLEAN
from droiz.tasks.keyed import keyed_rng
from droiz.tasks.layout import ITEM, TEXT, InputLayout, Segment, render
from droiz.tasks.metrics import score
from droiz.tasks.perturb import (
    CASES,
    DISTRACTORS,
    TEMPLATES,
    apply_case,
    apply_word_map,
    choose_typos,
    content_words,
    permute_items,
)

logger = logging.getLogger(__name__)

CASE, TYPO, FORMAT, DISTRACTOR, ORDER, SPACING = (
    "case",
    "typo",
    "format",
    "distractor",
    "order",
    "spacing",
)
SHIFT_GROUPS: tuple[str, ...] = (CLEAN, CASE, TYPO, FORMAT, DISTRACTOR, ORDER, SPACING)
"""All synthetic groups, in report order."""

KEEP_GOLD, RECOMPUTE, COTRANSFORM = "keep", "recompute", "cotransform"

__all__ = [
    "CASE",
    "COTRANSFORM",
    "DISTRACTOR",
    "FORMAT",
    "KEEP_GOLD",
    "ORDER",
    "RECOMPUTE",
    "SHIFT_GROUPS",
    "SPACING",
    "TYPO",
    "ShiftProfile",
    "perturb",
]


@dataclass(frozen=True)
class ShiftProfile:
    """Which groups a task uses and how each keeps the gold valid.

    Attributes:
        groups: The shift groups besides ``clean`` (subset of :data:`SHIFT_GROUPS`).
        layout: Content/structure layout of the inputs.
        cases: Case variants allowed in the ``case`` group.
        case_gold: ``keep`` or ``cotransform`` (for case-sensitive metrics such as ``mc``).
        typo_gold: ``keep``, ``recompute`` or ``cotransform``.
        typo_p: Probability that an eligible word gets a typo.
        typo_gold_words_only: Only edit words that also occur in a gold answer.
        protect: Given an example, a predicate telling whether a word may get a typo.
        oracle: Recomputes the gold from an input (``typo_gold == "recompute"``).
        spacing: The ``spacing`` transformation of an input.
        distractor: ``append`` (``"\\nNote: ..."``) or ``comment`` (a ``# note:`` code line).
    """

    groups: tuple[str, ...]
    layout: InputLayout = field(default_factory=InputLayout)
    cases: tuple[str, ...] = ("upper", "lower", "title")
    case_gold: str = KEEP_GOLD
    typo_gold: str = KEEP_GOLD
    typo_p: float = 0.3
    typo_gold_words_only: bool = False
    protect: Callable[[Example], Callable[[str], bool]] | None = None
    oracle: Callable[[str], str] | None = None
    spacing: Callable[[str, random.Random], str] | None = None
    distractor: str = "append"

    @property
    def all_groups(self) -> tuple[str, ...]:
        """``clean`` followed by the shift groups, in report order."""
        return (CLEAN, *[g for g in SHIFT_GROUPS if g in self.groups])


Change = tuple[str, tuple[str, ...], str | None]
"""(new input, answers, template) produced by one group."""


def perturb(
    task: str, metric: str, profile: ShiftProfile, example: Example, group: str, seed: int
) -> Instance:
    """The instance of ``example`` under ``group``.

    Args:
        task: Task name (part of the random key).
        metric: The task's metric (to check oracles against the gold).
        profile: The task's shift profile.
        example: The base example.
        group: ``clean`` or one of ``profile.groups``.
        seed: Run seed (part of the random key).
    """
    if group == CLEAN:
        return Instance(task, example.id, CLEAN, example.input, example.answers)
    if group not in profile.groups:
        raise ConfigError(
            f"group {group!r} is not valid for task {task!r}; "
            f"valid groups: {', '.join(profile.all_groups)}"
        )
    rng = keyed_rng("shift", task, example.id, group, seed)
    new_input, answers, template = _APPLY[group](profile, example, rng, metric)
    changed = new_input != example.input or template is not None
    return Instance(task, example.id, group, new_input, answers, template, changed)


def _unchanged(example: Example) -> Change:
    return example.input, example.answers, None


def _case(profile: ShiftProfile, example: Example, rng: random.Random, metric: str) -> Change:
    segments = profile.layout.parse(example.input)
    if segments is None:
        return _unchanged(example)
    variants = {name: render(apply_case(segments, CASES[name])) for name in profile.cases}
    options = [name for name, text in variants.items() if text != example.input]
    if not options:
        return _unchanged(example)
    name = rng.choice(options)
    answers = example.answers
    if profile.case_gold == COTRANSFORM:
        answers = _dedup(answers + tuple(CASES[name](a) for a in answers))
    return variants[name], answers, None


def _typo(profile: ShiftProfile, example: Example, rng: random.Random, metric: str) -> Change:
    segments = profile.layout.parse(example.input)
    if segments is None or not _oracle_agrees(profile, example, metric):
        return _unchanged(example)
    words = content_words(segments)
    if profile.typo_gold_words_only:
        gold_words = set(content_words([Segment(a, TEXT) for a in example.answers]))
        words = [w for w in words if w in gold_words]
    eligible = profile.protect(example) if profile.protect else (lambda w: True)
    mapping = choose_typos(words, profile.typo_p, rng, eligible)
    new_input = "".join(
        apply_word_map(s.text, mapping) if s.role in (TEXT, ITEM) else s.text for s in segments
    )
    if profile.typo_gold == RECOMPUTE and profile.oracle is not None:
        return new_input, (profile.oracle(new_input),), None
    answers = example.answers
    if profile.typo_gold == COTRANSFORM:
        answers = _dedup(answers + tuple(apply_word_map(a, mapping) for a in answers))
    return new_input, answers, None


def _format(profile: ShiftProfile, example: Example, rng: random.Random, metric: str) -> Change:
    return example.input, example.answers, TEMPLATES[rng.choice(sorted(TEMPLATES))]


def _distractor(profile: ShiftProfile, example: Example, rng: random.Random, metric: str) -> Change:
    sentence = rng.choice(DISTRACTORS)
    text = example.input
    if profile.distractor == "comment":
        head, sep, rest = text.partition("\n")
        if head.startswith("```") and sep:
            return f"{head}\n# note: {sentence}\n{rest}", example.answers, None
        return f"# note: {sentence}\n{text}", example.answers, None
    return f"{text}\nNote: {sentence}", example.answers, None


def _order(profile: ShiftProfile, example: Example, rng: random.Random, metric: str) -> Change:
    segments = profile.layout.parse(example.input)
    if segments is None:
        return _unchanged(example)
    return render(permute_items(segments, rng)), example.answers, None


def _spacing(profile: ShiftProfile, example: Example, rng: random.Random, metric: str) -> Change:
    if profile.spacing is None:
        return _unchanged(example)
    return profile.spacing(example.input, rng), example.answers, None


_APPLY: dict[str, Callable[[ShiftProfile, Example, random.Random, str], Change]] = {
    CASE: _case,
    TYPO: _typo,
    FORMAT: _format,
    DISTRACTOR: _distractor,
    ORDER: _order,
    SPACING: _spacing,
}


def _oracle_agrees(profile: ShiftProfile, example: Example, metric: str) -> bool:
    """For ``recompute``: whether the oracle reproduces the clean gold (else skip the example)."""
    if profile.typo_gold != RECOMPUTE or profile.oracle is None:
        return True
    try:
        ok = score(metric, profile.oracle(example.input), list(example.answers)) == 1.0
    except (ValueError, IndexError):
        ok = False
    if not ok:
        logger.debug("oracle disagrees with the gold of %s; typo group leaves it", example.id)
    return ok


def _dedup(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
