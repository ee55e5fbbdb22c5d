"""Natural groups: subpopulations that the data of a built-in task already have.

Each function maps a raw file entry (and the built input) to a label, stored as
:attr:`droiz.tasks.base.Example.group` when the task is loaded. They are evaluated on clean
inputs; unlike the shift groups they are not paired (each example is in one natural group).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["NATURAL", "natural_label"]

Entry = Mapping[str, Any]


def _orthography(entry: Entry, text: str) -> str | None:
    source = str(entry.get("source", ""))
    if "out_of_domain" in source:
        return "out_of_domain"
    if "in_domain" in source:
        return "in_domain"
    return None


def _larger_animal(entry: Entry, text: str) -> str | None:
    first = text.split(", ")[0].strip()
    return "answer_first" if first == entry.get("output") else "answer_second"


def _plural(entry: Entry, text: str) -> str | None:
    word, plural = str(entry.get("input", "")), str(entry.get("output", ""))
    if plural == word + "s":
        return "regular_s"
    if plural == word + "es" or (word.endswith("y") and plural == word[:-1] + "ies"):
        return "regular_es_ies"
    return "irregular"


def _cause_effect(entry: Entry, text: str) -> str | None:
    return "cause_first" if text.startswith(f"Sentence 1: {entry.get('cause')}") else "effect_first"


def _label(entry: Entry, text: str) -> str | None:
    return str(entry.get("output", "")).replace(" ", "_") or None


def _gold_option(entry: Entry, text: str) -> str | None:
    """A BIG-bench multiple-choice task's gold option (``non-entailment`` -> ``non_entailment``)."""
    scores = entry.get("target_scores")
    if not isinstance(scores, Mapping) or not scores:
        return None
    best = max(scores.values())
    gold = [str(k).strip() for k, v in scores.items() if v == best]
    return gold[0].lower().replace(" ", "_").replace("-", "_") if len(gold) == 1 else None


def _count(entry: Entry, text: str) -> str | None:
    try:
        return "count_le_5" if int(str(entry.get("output"))) <= 5 else "count_gt_5"
    except ValueError:
        return None


def _translations(entry: Entry, text: str) -> str | None:
    return "one_translation" if len(entry.get("possible_translations", ())) <= 1 else "several"


_LABELLED_BBII = (
    "bbii/causal_judgment",
    "bbii/epistemic_reasoning",
    "bbii/implicatures",
    "bbii/logical_fallacy_detection",
    "bbii/navigate",
    "bbii/presuppositions_as_nli",
    "bbii/sports_understanding",
    "bbii/winowhy",
)
"""BIG-bench multiple-choice tasks whose options are the same few labels in every example: their
gold option is a natural group (a model that leans towards one label fails the other)."""

NATURAL: dict[str, Callable[[Entry, str], str | None]] = {
    "orthography_starts_with": _orthography,
    "larger_animal": _larger_animal,
    "singular_to_plural": _plural,
    "cause_and_effect": _cause_effect,
    "sentiment": _label,
    "word_in_context": _label,
    "object_counting": _count,
    "translation_en-de": _translations,
    "translation_en-es": _translations,
    "translation_en-fr": _translations,
    **dict.fromkeys(_LABELLED_BBII, _gold_option),
}
"""Natural group functions of the built-in tasks that have one."""


def natural_label(task: str, entry: Entry, text: str) -> str | None:
    """The natural group label of a raw entry of ``task`` (``None`` if the task has none)."""
    fn = NATURAL.get(task)
    return fn(entry, text) if fn else None
