"""Rebuild a run's state from its journal: for ``--resume`` and for :func:`replay`.

The engine is restored without recomputing any round and without refitting the GP: the
evaluations of every finished round are told to a fresh engine (one ``tell``), and the rest of
the engine's state (reference weights, counters, the open proposal, the GP's fitted
hyperparameters) is loaded from ``engine-state.json`` (:mod:`droiz.runner.store.engine_state`), or
from the last ``tell`` record's snapshot where that file is behind the journal. The GP is then
conditioned on the journal's observations with the saved hyperparameters. A restored engine asks
exactly what the original would have asked next, on the same machine and library versions.

Elsewhere (other versions or platform in the saved state), or where a recomputed value differs
from the journal's in the last bits, the run resumes all the same, with one warning that
bit-exactness is not guaranteed there; the journal's evaluations and asks are kept, so no
completed evaluation is requested again. A run from a droiz that wrote no engine state falls
back to refitting the GP from the last warm start, with the same warning. Real inconsistencies
(a state file or journal that is not this run's) stay errors.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from droiz.optim import RobustBO
from droiz.runner.loop.engine_io import tell_engine
from droiz.runner.loop.outcomes import Outcome, ScoreBook, ScoreColumns
from droiz.runner.outputs.summary import RoundSummary, summarize_round
from droiz.runner.store.engine_state import (
    EngineState,
    environment_difference,
    pick_snapshot,
)
from droiz.runner.store.journal import JournalError
from droiz.runner.store.records import Ask, End, Eval, Record, Tell, Test, Verify
from droiz.runner.store.usage import with_record

logger = logging.getLogger(__name__)


@dataclass
class Restored:
    """What the journal holds, organised.

    Attributes:
        outcomes: Evaluations of the finished rounds, in order.
        partial: Evaluations of the unfinished round, by slot. ask: That round's ``ask`` record.
        summaries: The per-round summaries. book: Every measurement so far.
        test: The ``test`` record, if any. finished: Whether an ``end`` record exists.
        stats: LLM usage journaled so far (all sessions).
        budget: The whole run's ``budget_*`` counters as the last evaluation record saw them
            (covers what a killed session spent before its round's usage was journaled).
    """

    outcomes: list[Outcome] = field(default_factory=list)
    partial: dict[int, Outcome] = field(default_factory=dict)
    ask: Ask | None = None
    summaries: list[RoundSummary] = field(default_factory=list)
    book: ScoreBook = field(default_factory=ScoreBook)
    test: Test | None = None
    finished: bool = False
    stats: dict[str, float] = field(default_factory=dict)
    budget: dict[str, float] = field(default_factory=dict)
    inexact: list[str] = field(default_factory=list)
    warned: bool = False

    def not_exact(self, reason: str) -> None:
        """Warn (once per session) that this resume may not be bit-exact, and why."""
        self.inexact.append(reason)
        if not self.warned:
            self.warned = True
            logger.warning(
                "restoring the run without a guarantee of bit-exactness: %s; it continues from "
                "the journal (no completed evaluation is requested again), but what it asks from "
                "now on may differ in the last bits from an uninterrupted run",
                reason,
            )


def restore(
    engine: RobustBO,
    records: list[Record],
    columns: ScoreColumns,
    state: EngineState | None = None,
) -> Restored:
    """Bring a fresh ``engine`` to the journal's last finished round (or to the ask after it,
    from ``state``: the run directory's ``engine-state.json``) and organise the records.

    Warns (once) when the run is restored in another environment than the one that saved it,
    or when the restored engine's round summary differs from the journal's. The summary is
    redone either way: the original run computed it first with the GP of its last round.
    """
    out = Restored()
    evals: dict[int, list[Outcome]] = defaultdict(list)
    asks: dict[int, Ask] = {}
    tells: dict[int, Tell] = {}
    for rec in records:
        if isinstance(rec, Eval):
            o = Outcome.from_record(rec, columns)
            if not isinstance(rec, Verify):
                evals[o.round].append(o)
                out.budget = rec.budget or out.budget
            out.book.add_outcome(o)
        elif isinstance(rec, Ask):
            asks[int(rec.round)] = rec
        elif isinstance(rec, Tell):
            tells[int(rec.round)] = rec
        elif isinstance(rec, Test):
            out.test = rec
        elif isinstance(rec, End):
            out.finished = True
        out.stats = with_record(out.stats, rec)
    for r in sorted(tells):
        out.outcomes += _round_outcomes(evals[r], asks.get(r), r)
        out.summaries.append(RoundSummary.from_dict(tells[r].summary))
    unfinished = [r for r in asks if r not in tells]
    if unfinished:
        r = max(unfinished)
        out.ask, out.partial = asks[r], {o.slot: o for o in evals[r]}
    for o in out.outcomes:
        o.complete(out.book)
    last = tells[max(tells)] if tells else None
    snapshot = pick_snapshot(state, last, len(out.outcomes), out.ask)
    if snapshot is None:
        return out
    _load_engine(engine, out.outcomes, columns, snapshot)
    difference = environment_difference(snapshot)
    if difference is not None:
        out.not_exact(difference)
    if tells:
        _check_summary(engine, out)
    return out


def _check_summary(engine: RobustBO, out: Restored) -> None:
    """Redo the round summary of the last tell with the restored engine (its GP conditioned,
    not refitted) and compare it with the journal's: a difference means this machine computes
    other last bits, and the run continues with the journal's summary."""
    journaled = out.summaries[-1]
    # restored after the next ask, the engine counts one more proposal than at the tell
    summary = dataclasses.replace(summarize_round(engine, out.outcomes), round=journaled.round)
    if summary != journaled:
        fields = [k for k in journaled.to_dict() if getattr(summary, k) != getattr(journaled, k)]
        out.not_exact(
            "the restored engine does not reproduce the journal's last round summary exactly "
            f"({', '.join(fields)} differ: pick {summary.index} vs {journaled.index}, robust "
            f"value {summary.robust_value!r} vs {journaled.robust_value!r})"
        )


def adopt_ask(engine: RobustBO, ask: Ask, columns: ScoreColumns) -> None:
    """Make the journal's ``ask`` the engine's open proposal (the engine re-asked other points
    than the journal holds: the journal's were generated and evaluated, and are kept)."""
    state = engine.state_dict()
    groups = [[name in row for name in columns.names] for row in ask.pending]
    state["open"] = {**state["open"], "z": ask.z, "groups": groups}
    weights = ask.acquisition_weights
    state["acquisition_weights"] = weights
    engine.load_state_dict(state)


def _round_outcomes(evals: list[Outcome], ask: Ask | None, r: int) -> list[Outcome]:
    by_slot = {o.slot: o for o in evals}
    n = len(ask.z) if ask else len(by_slot)
    if sorted(by_slot) != list(range(n)):
        raise JournalError(f"round {r} is marked finished but has evaluations {sorted(by_slot)}")
    return [by_slot[s] for s in range(n)]


def _load_engine(
    engine: RobustBO, outcomes: list[Outcome], columns: ScoreColumns, snapshot: dict[str, Any]
) -> None:
    if outcomes:
        tell_engine(engine, outcomes, columns, external=True)
    state = engine.state_dict()
    state.update(snapshot)
    engine.load_state_dict(state)
