"""The spend ledger of a run directory: ``budget.jsonl``, what a :class:`~droiz.llm.budget.Budget`
reserved and settled, so that a resume after a SIGKILL counts every request that was sent.

Each line is the budget's running totals after one reserve or settle, numbers only::

    {"requests": 12, "tokens": 3410, "cost": 0.0, "held_tokens": 812, "held_cost": 0.0}

``requests`` counts every reserved attempt (a reservation is taken just before its request is
sent); ``held_*`` is the worst case of the attempts still in flight. Lines are written and flushed
before the request is sent, so they survive the death of the process (the kernel holds them);
they are fsync'd at most every :data:`SYNC_EVERY` seconds (an fsync costs milliseconds), so after
an OS crash or a power loss the lines of about the last :data:`SYNC_EVERY` seconds may be missing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO

LEDGER_NAME = "budget.jsonl"
SYNC_EVERY = 0.1
"""Seconds between two fsyncs of the ledger, at most (while lines are being written)."""


class Ledger:
    """An append-only ledger file (see the module); not thread-safe: the budget's lock orders it."""

    def __init__(self, path: Path, *, sync_every: float = SYNC_EVERY) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")
        self._sync_every = sync_every
        self._synced = time.monotonic()
        self._dirty = False

    def write(
        self, requests: int, tokens: int, cost: float, held_tokens: int, held_cost: float
    ) -> None:
        """Append one line of totals and flush it (fsync'd when the last fsync is old enough)."""
        if self._file is None:
            return
        line = {
            "requests": requests,
            "tokens": tokens,
            "cost": cost,
            "held_tokens": held_tokens,
            "held_cost": held_cost,
        }
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
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


def read_ledger(path: Path) -> tuple[int, int, float] | None:
    """Requests, tokens and cost the ledger at ``path`` says were spent, an unsettled reservation
    counted at its worst case (it was sent; its answer may be lost); ``None`` without a ledger.

    The last line that parses counts (a torn last line, cut by a crash, is skipped).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        try:
            rec = json.loads(line)
            return (
                int(rec["requests"]),
                int(rec["tokens"]) + int(rec["held_tokens"]),
                float(rec["cost"]) + float(rec["held_cost"]),
            )
        except (ValueError, KeyError, TypeError):
            continue
    return None
