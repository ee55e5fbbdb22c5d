"""Loading, the first stage of :func:`droiz.tasks.load_task`: a task name or file to its examples.

- instruction-induction / InstructZero tasks: an ``induce`` file and, for most tasks, an
  ``execute`` (test) file, each ``{"metadata": ..., "examples": {"1": {...}}}``; three fixes of the
  original loaders (:data:`QUIRK_FIXES`) and InstructZero's names that match no file
  (:data:`~droiz.tasks.catalog.ALIASES`) are applied and noted;
- BBII tasks: one raw BIG-bench ``task.json`` (``examples`` with ``target`` or ``target_scores``);
- users' ``.jsonl`` / ``.csv`` files, read by :mod:`droiz.tasks.custom`.

The result, a :class:`TaskData`, goes on to :func:`droiz.tasks.splits.split_task`. Every problem
raises a one-line :class:`DataError` that names the file and the problem.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.exceptions import DataError
from droiz.tasks.base import Example
from droiz.tasks.catalog import ALIASES, BBII, CUSTOM, TASK_TO_METRIC, TaskSpec, get_spec
from droiz.tasks.custom import is_task_file, read_task_file
from droiz.tasks.datadir import resolve_data_dir
from droiz.tasks.keyed import keyed_unit
from droiz.tasks.natural import natural_label

QUIRK_FIXES: dict[str, str] = {
    "common_concept": "input joins all items; the original loader's items[:-1] dropped the last",
    "word_in_context": "answers are possible_outputs (e.g. 'not the same', 'no', 'false'); "
    "the original loader kept only 'output'",
    "cause_and_effect": "cause/effect order drawn by a SHA-256 key of the example id; the "
    "original used an unseeded global coin flip, different on every run",
}
"""Loader fixes of the original code, by task (the name fixes are in ``catalog.ALIASES``)."""

__all__ = ["QUIRK_FIXES", "TaskData", "read_bbii", "read_ii", "read_json", "read_task"]


@dataclass(frozen=True)
class TaskData:
    """A task as read from its files, before splitting.

    Attributes:
        name: The task's name: the canonical built-in name, or a task file's stem.
        source: ``instruction-induction``, ``instructzero-extra``, ``bigbench-ii`` or ``custom``.
        examples: The examples of the induce file (of the only file when there is no test file),
            in file order.
        test: The examples of the test file (or a task file's ``split: test`` rows), or ``None``
            when there are none and a test split is held out.
        metric: The metric the data define, or ``None`` for a task file.
        notes: What loading found or fixed (aliases, metadata counts, repeated inputs, fixes).
        files: The files read.
    """

    name: str
    source: str
    examples: tuple[Example, ...]
    test: tuple[Example, ...] | None
    metric: str | None
    notes: tuple[str, ...]
    files: tuple[str, ...]


def read_task(
    name_or_path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> TaskData:
    """Read a built-in task by name (aliases accepted), or a ``.jsonl`` / ``.csv`` task file.

    Args:
        name_or_path: Built-in name (``"sum"``, ``"bbii/snarks"``, ``"ascii"``) or a file path.
        data_dir: Data directory of the built-in tasks (see
            :func:`droiz.tasks.datadir.resolve_data_dir`); not used for a task file, but a
            given one must exist all the same (a mistyped flag is not silently ignored).
    """
    if is_task_file(name_or_path):
        if data_dir is not None:
            resolve_data_dir(data_dir)
        path = Path(name_or_path)
        examples, test = read_task_file(path)
        return TaskData(path.stem, CUSTOM, examples, test or None, None, (), (str(path),))
    name = str(name_or_path)
    spec = get_spec(name)
    files = spec.files(resolve_data_dir(data_dir))
    notes: tuple[str, ...] = ()
    if name in ALIASES:
        notes = (f"{name!r} is InstructZero's name for {spec.name!r} (no file has that name)",)
    return (_read_bbii_task if spec.source == BBII else _read_ii_task)(spec, files, notes)


def _read_bbii_task(spec: TaskSpec, files: dict[str, Path], notes: tuple[str, ...]) -> TaskData:
    examples, metric = read_bbii(files["task"], spec.name)
    notes = (*notes, *_repeats(examples, "task file"))
    return TaskData(spec.name, spec.source, examples, None, metric, notes, _names(files))


def _read_ii_task(spec: TaskSpec, files: dict[str, Path], notes: tuple[str, ...]) -> TaskData:
    examples, file_notes = read_ii(files["induce"], spec.name, "induce")
    test = None
    if "execute" in files:
        test, more = read_ii(files["execute"], spec.name, "execute")
        file_notes += more
    notes = (*notes, *file_notes, *_repeats(examples, "induce file"))
    if spec.name in QUIRK_FIXES:
        notes = (*notes, f"fix: {QUIRK_FIXES[spec.name]}")
    metric = TASK_TO_METRIC.get(spec.name, "em")
    return TaskData(spec.name, spec.source, examples, test, metric, notes, _names(files))


def _names(files: dict[str, Path]) -> tuple[str, ...]:
    return tuple(str(p) for p in files.values())


def _repeats(examples: Sequence[Example], what: str) -> list[str]:
    counts = Counter(e.input for e in examples)
    extra = sum(c - 1 for c in counts.values() if c > 1)
    if not extra:
        return []
    return [f"{what}: {extra} example(s) repeat an earlier input (kept; answers may differ)"]


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


def _got(value: object) -> str:
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


def _ii_fields(
    task: str, eid: str, entry: Mapping[str, Any], where: str
) -> tuple[str, tuple[str, ...]]:
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


def read_ii(path: Path, task: str, split: str) -> tuple[tuple[Example, ...], list[str]]:
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
    examples = tuple(_ii_example(path, task, split, key, raw[key]) for key in keys)
    notes: list[str] = []
    declared = data.get("metadata", {}).get("num_examples")
    if isinstance(declared, int) and declared != len(examples):
        notes.append(
            f"{path.name} ({split}): metadata says {declared} examples, file has {len(examples)}"
        )
    return examples, notes


def _ii_example(path: Path, task: str, split: str, key: str, entry: object) -> Example:
    where = f"{path}: example {key!r}"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected an object, got {type(entry).__name__}")
    eid = f"{split}-{key}"
    text, answers = _ii_fields(task, eid, entry, where)
    return Example(eid, text, answers, natural_label(task, entry, text), entry)


def read_bbii(path: Path, task: str) -> tuple[tuple[Example, ...], str]:
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
    examples = tuple(_bbii_example(path, task, i, entry, mc) for i, entry in enumerate(raw, 1))
    return examples, "mc" if mc else "em"


def _bbii_example(path: Path, task: str, index: int, entry: object, mc: bool) -> Example:
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
    return Example(f"ex-{index}", text, answers, natural_label(task, entry, text), entry)
