"""The LLM usage of a run: counters of the journal's records (``stats``) added up, their
differences, and what the hard caps count as spent."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError
from droiz.llm.budget import CAPS, Limits
from droiz.llm.ledger import LedgerError, read_ledger
from droiz.runner.store.records import End, Record, Resume, Start

logger = logging.getLogger(__name__)


def usage_delta(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    """``after - before`` counter by counter."""
    return {k: after.get(k, 0) - before.get(k, 0) for k in sorted({*after, *before})}


def usage_sum(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    """``a + b`` counter by counter."""
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})}


def with_record(usage: Mapping[str, float], record: object) -> dict[str, float]:
    """``usage`` plus a journal record's ``stats`` (a record without usage adds nothing)."""
    return usage_sum(usage, getattr(record, "stats", {}))


def spent(
    stats: Mapping[str, float],
    seen: Mapping[str, float],
    ledger: tuple[int, int, float] | None = None,
) -> tuple[int, int, float]:
    """Requests, tokens and cost the run spent: from the journal's usage records (``stats``,
    summed), from the ``budget`` counters the last evaluation record saw (``seen``) or from the
    spend ledger (``budget.jsonl``, :func:`~droiz.llm.ledger.read_ledger`), whichever is larger
    (a killed session journals ``seen`` only, and the ledger counts what it sent after that)."""
    requests = stats.get("budget_requests")
    if requests is None:  # journals written before the caps: the executor's counters
        requests = stats.get("requests", 0) + stats.get("generator_requests", 0)
    tokens = stats.get("budget_tokens")
    if tokens is None:
        tokens = stats.get("prompt_tokens", 0) + stats.get("completion_tokens", 0)
    cost = stats.get("budget_cost", stats.get("cost", 0.0))
    l_requests, l_tokens, l_cost = ledger or (0, 0, 0.0)
    return (
        int(max(requests, seen.get("budget_requests", 0), l_requests)),
        int(max(tokens, seen.get("budget_tokens", 0), l_tokens)),
        float(max(cost, seen.get("budget_cost", 0.0), l_cost)),
    )


@dataclass(frozen=True)
class Spent:
    """What earlier sessions spent, as a resume counts it against the caps.

    Attributes:
        requests, tokens, cost: The totals.
        note: How a missing or damaged spend ledger was made up for (``""``: it was not).
    """

    requests: int
    tokens: int
    cost: float
    note: str = ""

    @property
    def spent(self) -> tuple[int, int, float]:
        return self.requests, self.tokens, self.cost


def resume_spend(
    records: Sequence[Record],
    stats: Mapping[str, float],
    seen: Mapping[str, float],
    ledger: Path,
    limits: Limits,
) -> Spent:
    """What the sessions journaled in ``records`` spent (see :func:`spent`), for a resume under
    ``limits``.

    The spend ledger alone counts what a killed session sent after its last journal record. When
    it is missing or damaged (its last line, or lines missing after it: its last session is
    older than the journal's, or it counts less than the journal), the last session is counted
    at its worst case, its own caps, unless it finished (an ``end`` record). A cap given now that
    the last session did not have cannot be kept: that is an error naming the ledger.

    Raises:
        ConfigError: The ledger is missing or damaged and a cap of ``limits`` has no worst case.
    """
    journaled = spent(stats, seen)
    sessions = [i for i, r in enumerate(records) if isinstance(r, Start | Resume)]
    damage = None
    try:
        reading = read_ledger(ledger)
    except LedgerError as exc:
        reading, damage = None, str(exc)
    if reading is None:
        damage = damage or f"the spend ledger {ledger} is missing"
    elif reading.session is not None and reading.session < len(sessions):
        damage = (
            f"the spend ledger {ledger} ends in session {reading.session}, but the journal holds "
            f"{len(sessions)} sessions: its last lines are missing"
        )
    elif any(n < j * (1 - 1e-9) for n, j in zip(reading.spent, journaled, strict=True)):
        damage = f"the spend ledger {ledger} counts less than the journal: it was cut short"
    if damage is None:
        assert reading is not None
        if reading.damaged:
            logger.warning("%s; its last line counts what was spent all the same", reading.damaged)
        return Spent(*spent(stats, seen, reading.spent))
    last = records[sessions[-1]] if sessions else None
    if last is None or any(isinstance(r, End) for r in records):
        logger.warning("%s; the run finished, so the journal counts what it spent", damage)
        return Spent(*journaled)
    worst = _session_caps(last)
    for i, cap in enumerate(CAPS):
        if getattr(limits, cap) is not None and worst[i] is None:
            flag = "--" + cap.replace("_", "-")
            raise ConfigError(
                f"{damage}; it alone counts what the last session sent after its last journal "
                f"record, and that session ran without a {flag} cap, so droiz cannot keep "
                f"{flag} {getattr(limits, cap):g}: restore {ledger} from a backup to resume "
                "under a cap"
            )
    totals = [j if w is None else max(j, w) for j, w in zip(journaled, worst, strict=True)]
    shown = ", ".join(
        f"--{cap.replace('_', '-')} {w:g}" for cap, w in zip(CAPS, worst, strict=True) if w
    )
    note = f"{damage}; the last session is counted at its worst case, its caps ({shown or 'none'})"
    logger.warning("%s", note)
    return Spent(int(totals[0]), int(totals[1]), float(totals[2]), note)


def _session_caps(record: Record) -> tuple[float | None, float | None, float | None]:
    """The caps a session ran under: a ``start`` record's settings, a ``resume`` record's caps
    (unknown, ``None``, in journal format 1)."""
    if isinstance(record, Start):
        caps: Mapping[str, Any] = record.settings
    else:
        caps = getattr(record, "caps", None) or {}
    a, b, c = (caps.get(cap) for cap in CAPS)
    return _number_or_none(a), _number_or_none(b), _number_or_none(c)


def _number_or_none(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None
