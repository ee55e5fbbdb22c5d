"""Reading users' own task files (JSONL or CSV) for the loading stage (:mod:`droiz.tasks.loaders`).

Format (one example per JSONL line or CSV row):

- ``input`` (required): the input text;
- ``output`` (required): the gold answer; in JSONL a string or a list of acceptable strings, in
  CSV one column ``output`` plus optional further gold columns ``output_2``, ``output_3``, ...
  (empty cells are ignored);
- ``group`` (optional): a natural group label (e.g. a domain); the labels become the task's groups;
- ``id`` (optional): a stable example id (default ``line-<n>``, the 1-based line or row number);
- ``split`` (optional): ``induce`` or ``test``. Without it, a seeded held-out test split of
  ``min(n/2, 100)`` examples is taken out, as for built-in tasks without a test file.

Induce examples are split into demonstrations and the dev pool by the usual rule
(:mod:`droiz.tasks.splits`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from droiz.exceptions import DataError
from droiz.tasks.base import Example
from droiz.validate import check_line_length

SUFFIXES = (".jsonl", ".csv")
_EXTRA_OUTPUT = re.compile(r"output_?\d+")

__all__ = ["SUFFIXES", "check_records", "is_task_file", "read_task_file"]


def is_task_file(name: str | os.PathLike[str]) -> bool:
    """Whether ``name`` names a task file (by its suffix) rather than a built-in task."""
    return Path(name).suffix.lower() in SUFFIXES


def read_task_file(path: Path) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """The examples of a ``.jsonl`` or ``.csv`` task file: (the others, the ``split: test`` ones).

    Both are in file order; the second is empty when no row says ``split: test``.
    """
    if not path.is_file():
        raise DataError(f"{path}: task file not found")
    rows = list(_jsonl_rows(path) if path.suffix.lower() == ".jsonl" else _csv_rows(path))
    if not rows:
        raise DataError(f"{path}: the file has no examples (empty split)")
    examples, splits_of = _examples(path, rows)
    test = tuple(e for e in examples if splits_of[e.id] == "test")
    return tuple(e for e in examples if splits_of[e.id] != "test"), test


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for lineno, line in enumerate(_read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {lineno}: malformed JSON ({exc.msg})") from None
        except RecursionError:
            raise DataError(f"{path}: line {lineno}: nests lists or objects too deeply") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {lineno}: expected a JSON object")
        yield lineno, row


def _csv_rows(path: Path) -> list[tuple[int, Mapping[str, Any]]]:
    try:
        return list(_csv_records(path))
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV ({exc})") from None


def _csv_records(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(reader, None)
    if not header:
        raise DataError(f"{path}: the file is empty (expected a header with input and output)")
    if len(set(header)) != len(header):
        raise DataError(f"{path}: the header repeats a column name: {header}")
    missing = [c for c in ("input", "output") if c not in header]
    if missing:
        raise DataError(f"{path}: the header has no {' or '.join(missing)} column: {header}")
    for values in reader:
        rowno = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise DataError(
                f"{path}: row {rowno}: {len(values)} cells for {len(header)} header columns"
            )
        cells = dict(zip(header, values, strict=True))
        extra = [cells[c] for c in header if _EXTRA_OUTPUT.fullmatch(c) and cells[c] != ""]
        row: dict[str, str | list[str]] = dict(cells)
        if "output" in cells and extra:
            row["output"] = [cells["output"], *extra]
        yield rowno, row


def _read_text(path: Path) -> str:
    """The file's text, every line at most :data:`~droiz.validate.MAX_LINE_BYTES` long."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None
    for lineno, line in enumerate(text.split("\n"), 1):
        check_line_length(f"{path}: line {lineno}", line)
    return text


def check_records(records: Sequence[Any], what: str = "task") -> list[dict[str, Any]]:
    """Check examples given as a list of dicts (the fields of a task file's rows), as a task file's
    are checked, with errors naming ``what`` and the example's position (1-based); returns them
    as plain dicts (the rows of a JSONL task file, whose default ids ``line-N`` they share).

    Raises:
        DataError: Not a non-empty list of dicts, or a row a task file may not hold.
    """
    if isinstance(records, str | bytes | Mapping) or not isinstance(records, Sequence):
        raise DataError(
            f"{what}: expected a list of examples (dicts with input and output), got "
            f"{type(records).__name__}"
        )
    if not records:
        raise DataError(f"{what}: the list of examples is empty")
    rows = []
    for i, row in enumerate(records, 1):
        if not isinstance(row, Mapping):
            raise DataError(
                f"{what}: example {i}: expected a dict with input and output, got "
                f"{type(row).__name__}"
            )
        rows.append((i, dict(row)))
    _examples(what, rows, "example")
    return [row for _, row in rows]


def _examples(
    path: Path | str, rows: Sequence[tuple[int, Mapping[str, Any]]], unit: str = "line"
) -> tuple[list[Example], dict[str, str]]:
    examples: list[Example] = []
    splits: dict[str, str] = {}
    for lineno, row in rows:
        example, split = _example(path, lineno, row, unit)
        if example.id in splits:
            raise DataError(f"{path}: {unit} {lineno}: duplicate id {example.id!r}")
        examples.append(example)
        splits[example.id] = split
    return examples, splits


def _example(
    path: Path | str, lineno: int, row: Mapping[str, Any], unit: str = "line"
) -> tuple[Example, str]:
    where = f"{path}: {unit} {lineno}"
    text = row.get("input")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: field 'input' must be a non-empty string")
    answers = row.get("output")
    if isinstance(answers, str):
        answers = [answers]
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise DataError(f"{where}: field 'output' must be a string or a non-empty list of strings")
    if any(not a.strip() for a in answers):
        raise DataError(f"{where}: field 'output' has an empty gold answer; give the answer")
    group = row.get("group")
    if group is not None and not isinstance(group, str):
        raise DataError(f"{where}: field 'group' must be a string")
    if isinstance(group, str) and not group.strip():
        raise DataError(f"{where}: field 'group' is empty; name the example's group or drop it")
    split = str(row.get("split") or "induce")
    if split not in ("induce", "test"):
        raise DataError(f"{where}: field 'split' must be 'induce' or 'test', got {split!r}")
    eid = str(row["id"]) if row.get("id") not in (None, "") else f"line-{lineno}"
    return Example(eid, text, tuple(answers), group or None, dict(row)), split
