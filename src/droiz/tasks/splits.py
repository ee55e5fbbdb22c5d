"""Splitting, the second stage of :func:`droiz.tasks.load_task`: a task's examples to its splits.

- ``induce``: ``min(floor(n / 2), 100)`` examples of the induce file, chosen exactly as
  InstructZero's ``create_split`` does (``random.seed(0)``, ``random.sample``), in that order; they
  are the demonstrations for instruction generation.
- ``dev``: the rest of the induce file, in file order; the pool of the fixed dev subsets.
- ``test``: the test file, minus any item whose input also occurs in the induce file
  (cause_and_effect: whose cause and effect do, since its inputs order them per example).
- Tasks without a test file (cs_algorithms, ascii_word_recognition, every BBII task, task files
  without a ``split`` column): a held-out test split of ``min(floor(n / 2), 100)`` examples,
  chosen by a SHA-256 key of the task name and example id (independent of the run seed), is
  taken out first; the rest, minus items that repeat a held-out input, is the induce file.
- Every split must be non-empty.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from droiz.exceptions import DataError
from droiz.tasks.base import Example
from droiz.tasks.catalog import II
from droiz.tasks.keyed import keyed_sample
from droiz.tasks.loaders import TaskData

DEMO_CAP = 100
HOLDOUT_CAP = 100
SPLIT_SEED = 0
"""InstructZero's ``create_split`` seed; also the key of the held-out test splits."""

__all__ = ["DEMO_CAP", "HOLDOUT_CAP", "SPLIT_SEED", "Splits", "demo_size", "split_task"]


@dataclass(frozen=True)
class Splits:
    """The three splits of a task and what was done to build them.

    Attributes:
        induce: Demonstrations for instruction generation.
        dev: Validation pool.
        test: Test set.
        notes: Human-readable notes (held-out split, removed or dropped items and their ids).
    """

    induce: tuple[Example, ...]
    dev: tuple[Example, ...]
    test: tuple[Example, ...]
    notes: tuple[str, ...] = ()


def demo_size(n: int) -> int:
    """Number of demonstrations taken from an induce file of ``n`` examples."""
    return min(n // 2, DEMO_CAP)


def split_induce(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """InstructZero's ``create_split``: a seeded sample for demos, the rest (file order) for dev."""
    chosen = random.Random(SPLIT_SEED).sample(range(len(examples)), demo_size(len(examples)))
    taken = set(chosen)
    demos = [examples[i] for i in chosen]
    rest = [e for i, e in enumerate(examples) if i not in taken]
    return demos, rest


def split_task(data: TaskData) -> Splits:
    """The induce/dev/test splits of a task as read.

    Raises:
        DataError: A split is empty.
    """
    key = _same_item(data)
    if data.test is None:
        induce, test, notes = _hold_out(data.name, data.examples, key)
    else:
        induce = list(data.examples)
        test, notes = _without_overlaps(data.test, induce, key)
    demos, dev = split_induce(induce)
    splits = Splits(tuple(demos), tuple(dev), tuple(test), tuple(notes))
    _check_not_empty(splits, ", ".join(data.files))
    return splits


def _same_item(data: TaskData) -> Callable[[Example], Hashable]:
    """What identifies an item when looking for test items that also occur in the induce file."""
    if data.source == II and data.name == "cause_and_effect":
        return lambda e: frozenset((e.fields.get("cause"), e.fields.get("effect")))
    return lambda e: e.input


def _check_not_empty(splits: Splits, where: str) -> None:
    for name in ("induce", "dev", "test"):
        if not getattr(splits, name):
            total = len(splits.induce) + len(splits.dev) + len(splits.test)
            raise DataError(
                f"{where}: split {name!r} is empty ({total} examples in all); a task needs "
                "at least 1 test example and 2 others (4 in all without a test split)"
            )


def _without_overlaps(
    test: Sequence[Example], induce: Sequence[Example], key: Callable[[Example], Hashable]
) -> tuple[list[Example], list[str]]:
    """(test, notes): the test file without the items that also occur in the induce file."""
    seen = {key(e) for e in induce}
    removed = [e.id for e in test if key(e) in seen]
    notes = []
    if removed:
        notes.append(
            f"removed {len(removed)} test example(s) whose input also occurs in the induce "
            f"file: {_short(removed)}"
        )
    return [e for e in test if key(e) not in seen], notes


def _hold_out(
    task: str, examples: Sequence[Example], key: Callable[[Example], Hashable]
) -> tuple[list[Example], list[Example], list[str]]:
    """(rest, test, notes): the keyed held-out test split of a task's only file."""
    k = min(len(examples) // 2, HOLDOUT_CAP)
    test = keyed_sample(examples, k, lambda e: e.id, "holdout", task, SPLIT_SEED)
    held = {e.id for e in test}
    test_keys = {key(e) for e in test}
    rest = [e for e in examples if e.id not in held]
    dropped = [e.id for e in rest if key(e) in test_keys]
    notes = [
        f"no test file: held out {k} of {len(examples)} examples as the test split "
        f"(seeded, min(n/2, {HOLDOUT_CAP}))"
    ]
    if dropped:
        notes.append(
            f"dropped {len(dropped)} non-test example(s) repeating a held-out test input: "
            f"{_short(dropped)}"
        )
    return [e for e in rest if key(e) not in test_keys], test, notes


def _short(ids: Sequence[str], limit: int = 5) -> str:
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more
