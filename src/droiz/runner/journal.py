"""The run journal: an append-only JSON-lines file, one record per line, fsync'd on every write.

Reading tolerates a torn last line (a write cut short by a crash or a kill): it is dropped with a
warning, and :meth:`Journal.open` truncates it before appending again, so the file stays valid
JSON lines. A malformed line anywhere else is corruption and raises :class:`JournalError`.

Record types (every record has ``"type"``; see ``docs/runner.md`` for the fields):

``start``  once, first: the journal version and the resolved settings;
``resume`` each time a run is resumed;
``ask``    a round's soft prompts, pending groups and instructions (before any request);
``eval``   one evaluation, written as soon as its results are complete;
``tell``   the end of a round: what the engine was told, its state and its current best;
``abort``  a backend failure, Ctrl-C or SIGTERM stopped the run;
``cap``    a ``--max-*`` cap stopped the run (the cap, its limit and what was used);
``test``   the test evaluation of the final pick;
``end``    the run finished.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from droiz.exceptions import DataError

logger = logging.getLogger(__name__)

JOURNAL_VERSION = 1
JOURNAL_NAME = "journal.jsonl"


class JournalError(DataError):
    """The journal is unreadable or does not belong to this run."""


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` (strict JSON), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class Journal:
    """Appends records to ``path``; each :meth:`append` is flushed and fsync'd before it returns.

    Thread-safe: results arriving on the executor's event-loop thread may write records.

    Args:
        path: The journal file (created if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open for appending after cutting off a torn last line, if any."""
        path = Path(path)
        if path.exists():
            data = path.read_bytes()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                _repair_tail(path, data[end:], end)
        return cls(path)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as a line, flush and fsync."""
        line = json.dumps(jsonable(record), ensure_ascii=False, allow_nan=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file atomically: a temporary file, fsync, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented strict JSON, atomically."""
    text = json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False)
    write_atomic(path, text + "\n")


def _repair_tail(path: Path, tail: bytes, end: int) -> None:
    """Terminate a complete last record, or cut off a torn one."""
    try:
        complete = isinstance(json.loads(tail), dict)
    except ValueError:
        complete = False
    with path.open("r+b") as fh:
        if complete:
            fh.seek(0, os.SEEK_END)
            fh.write(b"\n")
        else:
            logger.warning("journal %s: dropping a torn last line (%d bytes)", path, len(tail))
            fh.truncate(end)
        fh.flush()
        os.fsync(fh.fileno())


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """All records of a journal; a torn (unterminated, unparsable) last line is dropped.

    Raises:
        JournalError: The file is missing, or a line other than a torn last one is not a JSON
            object.
    """
    path = Path(path)
    if not path.is_file():
        raise JournalError(f"no journal at {path}; is this a droiz run directory?")
    return list(_records(path))


def _records(path: Path) -> Iterator[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    last = len(lines) - 1  # the text after the final newline: empty unless torn
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number - 1 == last:
                logger.warning("journal %s: ignoring a torn last line", path)
                return
            raise JournalError(
                f"{path}: line {number} is not valid JSON; the journal is damaged (restore it "
                "from a backup or start a new run directory)"
            ) from None
        if not isinstance(record, dict) or "type" not in record:
            raise JournalError(f"{path}: line {number} is not a journal record")
        yield record
