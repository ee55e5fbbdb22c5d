"""Split rules (benchmark-data.md §3.2 and §7.5, issue 3).

- ``induce``: ``min(floor(n / 2), 100)`` examples of the induce file, chosen exactly as
  InstructZero's ``create_split`` does (``random.seed(0)``, ``random.sample``), in that order; they
  are the demonstrations for instruction generation.
- ``dev``: the rest of the induce file, in file order; the pool of the fixed dev subsets.
- ``test``: the execute file, minus any item whose input also occurs in the induce file.
- Tasks without a test file (cs_algorithms, ascii_word_recognition, every BBII task): a held-out
  test split of ``min(floor(n / 2), 100)`` examples, chosen by a SHA-256 key of the task name and
  example id (independent of the run seed), is taken out first; the rest, minus items that
  repeat a held-out input, is the induce file.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from droiz.tasks.base import Example
from droiz.tasks.keyed import keyed_sample

DEMO_CAP = 100
HOLDOUT_CAP = 100
SPLIT_SEED = 0
"""InstructZero's ``create_split`` seed; also the key of the held-out test splits."""

__all__ = ["DEMO_CAP", "HOLDOUT_CAP", "SPLIT_SEED", "Splits", "demo_size", "make_splits"]


@dataclass(frozen=True)
class Splits:
    """The three splits of a task and what was done to build them.

    Attributes:
        induce: Demonstrations for instruction generation.
        dev: Validation pool.
        test: Test set.
        notes: Human-readable notes (held-out split, removed overlaps).
        removed: Ids of removed examples: test items whose input is also in the induce file, or
            (held-out splits) other items repeating a held-out test input.
    """

    induce: tuple[Example, ...]
    dev: tuple[Example, ...]
    test: tuple[Example, ...]
    notes: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


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


def make_splits(
    task: str,
    induce: Sequence[Example],
    execute: Sequence[Example] | None,
    key: Callable[[Example], Hashable] = lambda e: e.input,
) -> Splits:
    """Build the induce/dev/test splits of a task.

    Args:
        task: Task name (keys the held-out split).
        induce: Examples of the induce file (or of the only file).
        execute: Examples of the execute file, or ``None`` when there is none.
        key: What identifies an item when looking for test items that also occur in induce.
    """
    if execute is None:
        induce, test, removed, notes = _hold_out(task, induce, key)
    else:
        seen = {key(e) for e in induce}
        test = [e for e in execute if key(e) not in seen]
        removed = [e.id for e in execute if key(e) in seen]
        notes = []
        if removed:
            notes.append(
                f"removed {len(removed)} test example(s) whose input also occurs in the induce "
                f"file: {_short(removed)}"
            )
    demos, dev = split_induce(induce)
    return Splits(tuple(demos), tuple(dev), tuple(test), tuple(notes), tuple(removed))


def _hold_out(
    task: str, examples: Sequence[Example], key: Callable[[Example], Hashable]
) -> tuple[list[Example], list[Example], list[str], list[str]]:
    """(rest, test, dropped ids, notes): the keyed held-out test split of a task file."""
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
    return [e for e in rest if key(e) not in test_keys], test, dropped, notes


def _short(ids: Sequence[str], limit: int = 5) -> str:
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more
