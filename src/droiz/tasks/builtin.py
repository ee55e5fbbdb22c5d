"""Loading the built-in tasks (instruction induction, InstructZero extras, BBII)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

from droiz.exceptions import DataError
from droiz.tasks.base import Example
from droiz.tasks.catalog import ALIASES, BBII, TASK_TO_METRIC, TaskSpec, get_spec
from droiz.tasks.datadir import resolve_data_dir
from droiz.tasks.loaders import QUIRK_FIXES, read_bbii, read_ii
from droiz.tasks.profiles import bbii_profile, builtin_profile, default_groups
from droiz.tasks.shifts import ShiftProfile
from droiz.tasks.splits import Splits, make_splits
from droiz.tasks.task import Task

__all__ = ["check_splits", "load_builtin", "natural_labels"]


def load_builtin(name: str, data_dir: str | os.PathLike[str] | None = None, seed: int = 0) -> Task:
    """Load a built-in task by name (aliases such as ``ascii`` accepted).

    Args:
        name: Task name, e.g. ``"sum"`` or ``"bbii/snarks"``.
        data_dir: Data directory (see :func:`droiz.tasks.datadir.resolve_data_dir`).
        seed: Run seed of the task.
    """
    spec = get_spec(name)
    files = spec.files(resolve_data_dir(data_dir))
    alias = f"{name!r} is InstructZero's name for {spec.name!r} (no file has that name)"
    notes = [alias] if name in ALIASES else []
    splits, metric, profile = _read(spec, files, notes)
    notes.extend(splits.notes)
    check_splits(splits, ", ".join(str(p) for p in files.values()))
    return Task(
        name=spec.name,
        source=spec.source,
        metric=metric,
        induce=splits.induce,
        dev=splits.dev,
        test=splits.test,
        groups=default_groups(profile, spec.source),
        seed=int(seed),
        natural_groups=natural_labels([*splits.test, *splits.induce, *splits.dev]),
        notes=tuple(notes),
        files=tuple(str(p) for p in files.values()),
        profile=profile,
    )


def _read(
    spec: TaskSpec, files: dict[str, Path], notes: list[str]
) -> tuple[Splits, str, ShiftProfile]:
    """(splits, metric, shift profile) of a task; appends the loader's notes to ``notes``."""
    if spec.source == BBII:
        examples, metric = read_bbii(files["task"], spec.name)
        notes.extend(_duplicates(examples, "task file"))
        return make_splits(spec.name, examples, None), metric, bbii_profile(spec.file_name, metric)
    splits, metric, file_notes = _read_ii_task(spec, files)
    notes.extend(file_notes)
    if spec.name in QUIRK_FIXES:
        notes.append(f"fix: {QUIRK_FIXES[spec.name]}")
    return splits, metric, builtin_profile(spec.name)


def _read_ii_task(spec: TaskSpec, files: dict[str, Path]) -> tuple[Splits, str, list[str]]:
    induce, notes = read_ii(files["induce"], spec.name, "induce")
    execute = None
    if "execute" in files:
        execute, more = read_ii(files["execute"], spec.name, "execute")
        notes += more
    notes += _duplicates(induce, "induce file")
    splits = make_splits(spec.name, induce, execute, key=_overlap_key(spec.name))
    return splits, TASK_TO_METRIC.get(spec.name, "em"), notes


def _overlap_key(task: str) -> Callable[[Example], Hashable]:
    if task == "cause_and_effect":
        return lambda e: frozenset((e.fields.get("cause"), e.fields.get("effect")))
    return lambda e: e.input


def _duplicates(examples: Sequence[Example], what: str) -> list[str]:
    counts: Counter[Hashable] = Counter(e.input for e in examples)
    extra = sum(c - 1 for c in counts.values() if c > 1)
    if not extra:
        return []
    return [f"{what}: {extra} example(s) repeat an earlier input (kept; answers may differ)"]


def natural_labels(examples: Sequence[Example]) -> tuple[str, ...]:
    """Distinct natural labels of the examples, sorted."""
    return tuple(sorted({e.group for e in examples if e.group is not None}))


def check_splits(splits: Splits, where: str) -> None:
    """Raise a :class:`DataError` if a split is empty."""
    for name in ("induce", "dev", "test"):
        if not getattr(splits, name):
            total = len(splits.induce) + len(splits.dev) + len(splits.test)
            raise DataError(
                f"{where}: split {name!r} is empty ({total} examples in all); a task needs "
                "at least 1 test example and 2 others (4 in all without a test split)"
            )
