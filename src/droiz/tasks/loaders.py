"""Readers of the task files, with the quirk fixes of benchmark-data.md §3.1 and §4.

- instruction-induction / InstructZero files: ``{"metadata": ..., "examples": {"1": {...}}}``.
- BBII files: raw BIG-bench ``task.json`` (``examples`` with ``target`` or ``target_scores``).

Every problem raises a one-line :class:`DataError` that names the file and the problem.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from droiz.exceptions import DataError
from droiz.tasks.base import Example
from droiz.tasks.keyed import keyed_unit
from droiz.tasks.natural import natural_label

logger = logging.getLogger(__name__)

QUIRK_FIXES: dict[str, str] = {
    "common_concept": "input joins all items; the original loader's items[:-1] dropped the last",
    "word_in_context": "answers are possible_outputs (e.g. 'not the same', 'no', 'false'); "
    "the original loader kept only 'output'",
    "cause_and_effect": "cause/effect order drawn by a SHA-256 key of the example id; the "
    "original used an unseeded global coin flip, different on every run",
}
"""Loader fixes of the original code, by task (the name fixes are in ``catalog.ALIASES``)."""

__all__ = ["QUIRK_FIXES", "read_bbii", "read_ii", "read_json"]


def read_json(path: Path) -> Any:
    """Parse a JSON file; a missing or malformed file raises a one-line :class:`DataError`."""
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataError(f"{path}: task file not found; check the data directory") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None


def _got(value: Any) -> str:
    return "missing" if value is None else type(value).__name__


def _text(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str):
        raise DataError(f"{where}: field {name!r} must be a string, got {_got(value)}")
    return value


def _texts(entry: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = entry.get(name)
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DataError(
            f"{where}: field {name!r} must be a string or a non-empty list of strings, "
            f"got {_got(value)}"
        )
    return tuple(value)


def _ii_fields(task: str, eid: str, entry: Mapping[str, Any], where: str) -> tuple[str, tuple]:
    """(input, answers) of one instruction-induction entry, quirks fixed."""
    if task == "cause_and_effect":
        cause, effect = _text(entry, "cause", where), _text(entry, "effect", where)
        first, second = (cause, effect) if keyed_unit("order", task, eid) < 0.5 else (effect, cause)
        return f"Sentence 1: {first} Sentence 2: {second}", (cause,)
    if task == "common_concept":
        return ", ".join(_texts(entry, "items", where)), _texts(entry, "all_common_concepts", where)
    answer_field = {
        "rhymes": "other_rhymes",
        "word_in_context": "possible_outputs",
    }.get(task, "possible_translations" if task.startswith("translation") else "output")
    return _text(entry, "input", where), _texts(entry, answer_field, where)


def read_ii(path: Path, task: str, split: str) -> tuple[list[Example], list[str]]:
    """Read an instruction-induction / InstructZero file.

    Args:
        path: The ``induce`` or ``execute`` JSON file.
        task: Task (file) name, selecting the field mapping.
        split: ``"induce"`` or ``"execute"`` (the id prefix).

    Returns:
        The examples in file order (``id = f"{split}-{key}"``) and notes on the file.
    """
    data = read_json(path)
    raw = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a JSON object with an 'examples' mapping")
    if not raw:
        raise DataError(f"{path}: the file has no examples (empty split)")
    keys = sorted(raw, key=int) if all(str(k).isdigit() for k in raw) else list(raw)
    examples = [_ii_example(path, task, split, key, raw[key]) for key in keys]
    notes = []
    declared = data.get("metadata", {}).get("num_examples") if isinstance(data, dict) else None
    if isinstance(declared, int) and declared != len(examples):
        notes.append(
            f"{path.name} ({split}): metadata says {declared} examples, file has {len(examples)}"
        )
    return examples, notes


def _ii_example(path: Path, task: str, split: str, key: str, entry: Any) -> Example:
    where = f"{path}: example {key!r}"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected an object, got {type(entry).__name__}")
    eid = f"{split}-{key}"
    text, answers = _ii_fields(task, eid, entry, where)
    return Example(eid, text, answers, natural_label(task, entry, text), entry)


def read_bbii(path: Path, task: str) -> tuple[list[Example], str]:
    """Read a BIG-bench ``task.json``.

    Multiple-choice tasks (``preferred_score == "multiple_choice_grade"``) get their options
    appended to the input (``"\\nOptions:\\n- a\\n- b"``), the best-scored options as answers and
    the ``mc`` metric; the others use ``target`` (string or list) and ``em``. The ``task_prefix``
    (a task description) is not part of the input: the instruction is what droiz optimises.

    Returns:
        The examples (``id = f"ex-{i}"``, 1-based) and the metric name.
    """
    data = read_json(path)
    raw = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise DataError(f"{path}: expected a BIG-bench task object with an 'examples' list")
    if not raw:
        raise DataError(f"{path}: the file has no examples (empty split)")
    mc = data.get("preferred_score") == "multiple_choice_grade"
    examples = [_bbii_example(path, i, entry, mc) for i, entry in enumerate(raw, 1)]
    return examples, "mc" if mc else "em"


def _bbii_example(path: Path, index: int, entry: Any, mc: bool) -> Example:
    where = f"{path}: example {index}"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected an object, got {type(entry).__name__}")
    text = _text(entry, "input", where)
    if not mc:
        return Example(f"ex-{index}", text, _texts(entry, "target", where), None, entry)
    scores = entry.get("target_scores")
    if not isinstance(scores, dict) or not scores:
        raise DataError(f"{where}: field 'target_scores' must be a non-empty mapping")
    try:
        best = max(float(v) for v in scores.values())
    except (TypeError, ValueError):
        raise DataError(f"{where}: 'target_scores' values must be numbers") from None
    options = [str(k).strip() for k in scores]
    answers = tuple(str(k).strip() for k, v in scores.items() if float(v) == best)
    text = text + "\nOptions:\n" + "\n".join(f"- {o}" for o in options)
    return Example(f"ex-{index}", text, answers, None, entry)
