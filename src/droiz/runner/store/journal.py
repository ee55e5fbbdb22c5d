"""The run journal: an append-only JSON-lines file, one typed record per line, each line sealed
with its checksum (:mod:`droiz.checksum`) and fsync'd on every write. This module is the only
place that writes or parses it (the record kinds and their fields are declared in
:mod:`droiz.runner.store.records`).

Reading tolerates a torn last line (a write cut short by a crash or a kill): it is dropped with a
warning and reported (:attr:`JournalFile.torn`), and :meth:`Journal.open` truncates it before
appending again, so the file stays valid JSON lines. Anything else raises :class:`JournalError`
naming the line: a malformed line, a line whose checksum does not match or that lost it (lines
of format 1, written before checksums, have none), a record whose fields fail their checks
(:func:`~droiz.runner.store.records.record_from_dict`), an empty journal, and a journal in a
format this droiz does not read: a newer or unknown one, or an older one it no longer reads (the
message names the droiz version that wrote it). The checksums catch accidental damage, not a
deliberate edit that recomputes them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from droiz import __version__
from droiz._killpoint import kill_point
from droiz.checksum import Seal, seal, unseal
from droiz.exceptions import DataError
from droiz.runner.store.atomic import jsonable
from droiz.runner.store.records import (
    JOURNAL_VERSION,
    READABLE_VERSIONS,
    SEALED_VERSION,
    Record,
    RecordError,
    record_from_dict,
    record_to_dict,
)

logger = logging.getLogger(__name__)

__all__ = [
    "JOURNAL_VERSION",
    "Journal",
    "JournalError",
    "JournalFile",
    "dump_record",
    "journal_line",
    "load_journal",
    "read_journal",
]


class JournalError(DataError):
    """The journal is unreadable, in a format this droiz does not read, or not this run's."""


def dump_record(record: Record) -> str:
    """The JSON text of a record (a journal line without its checksum and newline): strict
    JSON, UTF-8 text kept as is."""
    return json.dumps(jsonable(record_to_dict(record)), ensure_ascii=False, allow_nan=False)


def journal_line(record: Record) -> str:
    """One journal line (without its newline): :func:`dump_record` sealed with its checksum."""
    return seal(dump_record(record))


@dataclass
class JournalFile:
    """What a journal file holds.

    Attributes:
        path: The file. records: Its records, in order.
        torn: Bytes of a torn last line that were dropped (0: none).
        unterminated: The last record is complete but lacks its newline.
    """

    path: Path
    records: list[Record] = field(default_factory=list)
    torn: int = 0
    unterminated: bool = False


class Journal:
    """Appends records to a journal file; each :meth:`append` is flushed and fsync'd before it
    returns. Open it with :meth:`open`, which reads what the file holds first (once).

    Thread-safe: results arriving on the executor's event-loop thread may write records.

    Attributes:
        path: The journal file. records: Every record: those read at :meth:`open`, then those
            appended. torn: Bytes of a torn last line cut off at :meth:`open`.
    """

    def __init__(self, path: str | Path, contents: JournalFile | None = None) -> None:
        self.path = Path(path)
        self.records: list[Record] = list(contents.records) if contents else []
        self.torn = contents.torn if contents else 0
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    @classmethod
    def open(cls, path: str | Path, contents: JournalFile | None = None) -> Journal:
        """Read the journal (if any; see :func:`load_journal`), cut off a torn last line or
        terminate a complete one, and open it for appending. ``contents``: the journal as
        already read by :func:`load_journal` (it is not read again)."""
        path = Path(path)
        if contents is None:
            contents = load_journal(path) if path.exists() else JournalFile(path)
        if contents.torn or contents.unterminated:
            _repair_tail(path, contents)
        return cls(path, contents)

    def append(self, record: Record) -> None:
        """Write one record as a line (sealed with its checksum), flush and fsync."""
        line = journal_line(record)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self.records.append(record)
        kill_point("append")  # test-only crash point (droiz._killpoint)

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _repair_tail(path: Path, contents: JournalFile) -> None:
    """Terminate a complete last record, or cut off a torn one."""
    with path.open("r+b") as fh:
        if contents.unterminated:
            fh.seek(0, os.SEEK_END)
            fh.write(b"\n")
        else:
            fh.seek(0, os.SEEK_END)
            fh.truncate(fh.tell() - contents.torn)
        fh.flush()
        os.fsync(fh.fileno())


def _read_bytes(path: Path) -> bytes:
    """The journal's bytes (the one place a journal file is read)."""
    return path.read_bytes()


def load_journal(path: str | Path) -> JournalFile:
    """Read and parse a journal: its typed records, and whether its last line was torn.

    Raises:
        JournalError: The file is missing; a line other than a torn last one is not a valid
            record; or the journal's format (its ``start`` and ``resume`` records' ``version``)
            is one this droiz does not read.
    """
    path = Path(path)
    if not path.is_file():
        raise JournalError(f"no journal at {path}; is this a droiz run directory?")
    data = _read_bytes(path)
    out = JournalFile(path)
    lines = data.split(b"\n")
    last = len(lines) - 1  # the bytes after the final newline: empty unless torn or unterminated
    objects: list[tuple[int, dict[str, Any]]] = []
    sealed = False  # a sealed line was read: every later line must be sealed too
    damaged = "; the journal is damaged (restore it from a backup or start a new run directory)"
    for number, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        seal_state = unseal(line)
        try:
            if seal_state is Seal.BAD or (sealed and seal_state is Seal.NONE):
                raise ValueError("a damaged line")
            obj = json.loads(line)
            if number - 1 == last and not isinstance(obj, dict):
                raise ValueError("a torn line")
        except ValueError:
            if number - 1 == last:
                logger.warning("journal %s: ignoring a torn last line (%d bytes)", path, len(raw))
                out.torn = len(raw)
                break
            if not _is_json(line):
                problem = "is not valid JSON"
            elif seal_state is Seal.BAD:
                problem = "does not match its checksum"
            else:
                problem = "has lost its checksum"
            raise JournalError(f"{path}: line {number} {problem}{damaged}") from None
        if not isinstance(obj, dict) or "type" not in obj:
            raise JournalError(f"{path}: line {number} is not a journal record")
        if _sealed_format(obj) and seal_state is not Seal.OK:
            raise JournalError(
                f"{path}: line {number} has no checksum, but its journal format "
                f"{obj.get('version')} seals every line{damaged}"
            )
        sealed = sealed or seal_state is Seal.OK
        out.unterminated = number - 1 == last
        objects.append((number, obj))
    if not objects:
        raise JournalError(f"{path} holds no record (not even its start record){damaged}")
    _check_version(path, [obj for _, obj in objects])
    for number, obj in objects:
        try:
            out.records.append(record_from_dict(obj))
        except (RecordError, TypeError) as exc:
            raise JournalError(f"{path}: line {number}: {exc}{damaged}") from None
    return out


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _sealed_format(obj: dict[str, Any]) -> bool:
    """Whether a ``start`` or ``resume`` record says its lines carry checksums."""
    version = obj.get("version")
    return (
        obj.get("type") in ("start", "resume")
        and version in READABLE_VERSIONS
        and version >= SEALED_VERSION
    )


def read_journal(path: str | Path) -> list[Record]:
    """All records of a journal (see :func:`load_journal`)."""
    return load_journal(path).records


def _check_version(path: Path, objects: list[dict[str, Any]]) -> None:
    """Refuse a journal in a format this droiz does not read, naming who wrote it."""
    if not objects:
        return
    if objects[0]["type"] != "start":
        raise JournalError(
            f"{path} does not begin with a start record (it begins with a "
            f"{objects[0]['type']!r} record); it is not a droiz journal"
        )
    for obj in objects:
        if obj["type"] not in ("start", "resume"):
            continue
        version, writer = obj.get("version"), obj.get("droiz_version") or "unknown"
        if isinstance(version, int) and not isinstance(version, bool):
            if version in READABLE_VERSIONS:
                continue
            if version > JOURNAL_VERSION:
                raise JournalError(
                    f"{path} is in journal format {version}, written by droiz {writer}; this "
                    f"droiz ({__version__}) reads format {JOURNAL_VERSION} at most: use droiz "
                    f"{writer} or newer"
                )
            raise JournalError(
                f"{path} is in the old journal format {version}, written by droiz {writer}, "
                f"which this droiz ({__version__}) no longer reads: use droiz {writer} to "
                "finish or report it"
            )
        raise JournalError(
            f"{path} has an unknown journal format ({version!r}, written by droiz {writer}); "
            f"this droiz ({__version__}) reads format {JOURNAL_VERSION}"
        )
