"""The journal of a :class:`~droiz.integrations.dspy.RobustInstructionOptimizer` directory.

``dspy-journal.jsonl`` in ``out``: one JSON object a line, appended, flushed and fsync'd before
the next request, so a second ``compile`` with the same ``out`` pays for nothing already done.
Its records (``type``):

* ``header``: the format (``droiz-dspy``) and its version; the first line.
* ``score``: one valset example's metric score with one candidate instruction, under ``key``
  (a hash of everything that decides the score: the program with that instruction, the example,
  the LM's model and endpoint, the adapter and the metric's name). ``group`` and ``candidate``
  are there for reading.
* ``proposal``: an instruction a proposer LM wrote (``instruction`` is ``null`` when its answer
  could not be parsed), under ``key``.
* ``clusters``: the ``clusters:K`` assignment of the valset, under ``key``, so that a resume
  does not depend on the embedder.
* ``evaluation``: what the search was told (candidate, groups, their means); for reading.

It is a journal of its own, not the runner's (``droiz.runner.store.journal``): the runner's
records describe a run of ``droiz optimize`` (its settings, rounds and soft prompts) and start
with its ``start`` record. Like the runner's, a torn last line (a write cut short by a kill) is
dropped, and any other bad line is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from droiz.exceptions import DataError
from droiz.runner.store.atomic import jsonable

JOURNAL_NAME = "dspy-journal.jsonl"
FORMAT = "droiz-dspy"
VERSION = 1


def digest(data: object) -> str:
    """A SHA-256 hex digest of ``data`` as canonical JSON (``repr`` for other objects)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ScoreJournal:
    """Appends records to ``out/dspy-journal.jsonl`` and indexes what it holds by ``key``.

    Args:
        out: The directory (created if needed).

    Raises:
        DataError: The file is not such a journal, or a line other than a torn last one is not
            valid JSON.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.path = Path(out) / JOURNAL_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._read()
        self._file = self.path.open("a", encoding="utf-8")
        if self.path.stat().st_size == 0:
            self._write({"type": "header", "format": FORMAT, "version": VERSION})

    def _read(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
                if not isinstance(obj, dict) or "type" not in obj:
                    raise ValueError("not a record")
            except ValueError:
                if number == len(lines):  # a torn last line: cut it off
                    with self.path.open("r+b") as fh:
                        fh.truncate(len(data) - len(raw))
                    return
                raise DataError(
                    f"{self.path}: line {number} is not a journal record; the journal is "
                    "damaged (restore it or choose another out=)"
                ) from None
            if number == 1 and (obj.get("format"), obj.get("version")) != (FORMAT, VERSION):
                raise DataError(
                    f"{self.path} is not a journal of this droiz's RobustInstructionOptimizer "
                    f"(expected a {FORMAT!r} version {VERSION} header); choose another out="
                )
            if "key" in obj:
                self.records[(obj["type"], obj["key"])] = obj
        if data and not data.endswith(b"\n"):  # a complete last record without its newline
            with self.path.open("ab") as fh:
                fh.write(b"\n")

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """The record of ``kind`` under ``key``, if journaled."""
        return self.records.get((kind, key))

    def append(self, record: dict[str, Any]) -> None:
        """Write one record (flushed and fsync'd) and index it."""
        with self._lock:
            self._write(record)
            if "key" in record:
                self.records[(record["type"], record["key"])] = record

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(jsonable(record), ensure_ascii=False, allow_nan=False)
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self._file.close()
