"""The spend ledger of a run directory: ``budget.jsonl``, what a :class:`~droiz.llm.budget.Budget`
reserved and settled, so that a resume after a SIGKILL counts every request that was sent.

Each line is the budget's running totals after one reserve or settle, numbers only: the session
that wrote it (1 for the run's start, then one more per resume), the totals, and its checksum
(:mod:`droiz.checksum`)::

    {"session":2,"requests":12,"tokens":3410,"cost":0.0,"held_tokens":812,"held_cost":0.0,
     "crc32":"1f2e3d4c"}

(one line in the file).

``requests`` counts every reserved attempt (a reservation is taken just before its request is
sent); ``held_*`` is the worst case of the attempts still in flight. A session's first line holds
the totals it started from (what earlier sessions spent), so the last line alone counts the whole
run. Lines are written and flushed before the request is sent, so they survive the death of the
process (the kernel holds them); they are fsync'd at most every :data:`SYNC_EVERY` seconds (an
fsync costs milliseconds), so after an OS crash or a power loss the lines of about the last
:data:`SYNC_EVERY` seconds may be missing.

:func:`read_ledger` refuses a ledger whose last line is damaged (:class:`LedgerError`, naming the
file and the line): not UTF-8 text, not a JSON object of the totals, a checksum that does not
match or that was lost, or a line cut short. Damage before the last line does not change what it
counts, and is reported (:attr:`LedgerReading.damaged`). Lines written by a droiz before
checksums and sessions have neither, and are read as they are. The checksums catch accidental
damage, not a deliberate edit that recomputes them, nor a cut at a line boundary (the caller
compares the last line's session with the journal's sessions).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from droiz.checksum import Seal, seal, unseal
from droiz.exceptions import DataError

LEDGER_NAME = "budget.jsonl"
SYNC_EVERY = 0.1
"""Seconds between two fsyncs of the ledger, at most (while lines are being written)."""
FIELDS = ("requests", "tokens", "cost", "held_tokens", "held_cost")
"""The totals of a line, in order."""


class LedgerError(DataError):
    """The ledger is damaged: it cannot say what was spent (the message names the line)."""


class Ledger:
    """An append-only ledger file (see the module); not thread-safe: the budget's lock orders it."""

    def __init__(self, path: Path, *, session: int = 1, sync_every: float = SYNC_EVERY) -> None:
        self.path = Path(path)
        self.session = session
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")
        if self._file.tell() and not _ends_with_newline(self.path):
            self._file.write("\n")  # a torn last line stays alone
        self._sync_every = sync_every
        self._synced = time.monotonic()
        self._dirty = False

    def write(
        self, requests: int, tokens: int, cost: float, held_tokens: int, held_cost: float
    ) -> None:
        """Append one line of totals and flush it (fsync'd when the last fsync is old enough)."""
        if self._file is None:
            return
        line: dict[str, Any] = {"session": self.session}
        line |= zip(FIELDS, (requests, tokens, cost, held_tokens, held_cost), strict=True)
        self._file.write(seal(json.dumps(line, separators=(",", ":")), ",") + "\n")
        self._file.flush()
        self._dirty = True
        now = time.monotonic()
        if now - self._synced >= self._sync_every:
            self._sync(now)

    def _sync(self, now: float) -> None:
        assert self._file is not None
        os.fsync(self._file.fileno())
        self._synced, self._dirty = now, False

    def close(self) -> None:
        if self._file is None:
            return
        if self._dirty:
            self._sync(time.monotonic())
        self._file.close()
        self._file = None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


@dataclass(frozen=True)
class LedgerReading:
    """What a ledger says was spent.

    Attributes:
        requests, tokens, cost: The totals of its last line, an unsettled reservation counted at
            its worst case (it was sent; its answer may be lost).
        session: The session that wrote the last line (``None``: a line written before sessions
            were recorded).
        damaged: Why a line before the last is damaged (``None``: none is).
    """

    requests: int
    tokens: int
    cost: float
    session: int | None = None
    damaged: str | None = None

    @property
    def spent(self) -> tuple[int, int, float]:
        return self.requests, self.tokens, self.cost


def read_ledger(path: Path) -> LedgerReading | None:
    """What the ledger at ``path`` says was spent (its last line, see :class:`LedgerReading`);
    ``None`` without a ledger.

    Raises:
        LedgerError: The ledger is empty or unreadable, or its last line is damaged (see the
            module); the message names the file and the line.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerError(f"cannot read the spend ledger {path}: {exc.strerror}") from None
    lines = data.split(b"\n")
    numbered = [(n, raw) for n, raw in enumerate(lines, start=1) if raw.strip()]
    if not numbered:
        raise LedgerError(f"the spend ledger {path} is empty")
    if lines[-1].strip():
        raise LedgerError(
            f"{path}: line {len(lines)} (the last) is cut short; the ledger is damaged"
        )
    number, raw = numbered[-1]
    last = _parse_line(path, number, raw)
    damaged = None
    for number, raw in numbered[:-1]:
        try:
            _parse_line(path, number, raw)
        except LedgerError as exc:
            damaged = str(exc)
            break
    session = last.get("session")
    return LedgerReading(
        int(last["requests"]),
        int(last["tokens"]) + int(last["held_tokens"]),
        float(last["cost"]) + float(last["held_cost"]),
        session if isinstance(session, int) and not isinstance(session, bool) else None,
        damaged,
    )


def _parse_line(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    """One line's totals, or :class:`LedgerError`."""
    where = f"{path}: line {number}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerError(f"{where} is not UTF-8 text; the ledger is damaged") from None
    state = unseal(text)
    if state is Seal.BAD:
        raise LedgerError(f"{where} does not match its checksum; the ledger is damaged")
    try:
        rec = json.loads(text)
    except ValueError:
        rec = None
    ok = isinstance(rec, dict) and all(_is_total(rec.get(k)) for k in FIELDS)
    if not ok:
        raise LedgerError(f"{where} is not a line of totals; the ledger is damaged")
    assert isinstance(rec, dict)
    if state is Seal.NONE and "session" in rec:  # written with a checksum, which was lost
        raise LedgerError(f"{where} has lost its checksum; the ledger is damaged")
    return rec


def _is_total(value: Any) -> bool:
    """A count or an amount: a finite number >= 0 (not a boolean)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value) and value >= 0
