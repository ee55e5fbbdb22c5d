"""The LLM usage of a run: counters of the journal's records (``stats``) added up, their
differences, and what the hard caps count as spent."""

from __future__ import annotations

from collections.abc import Mapping


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
