"""Run a round's evaluations on the executor: one batch, deduplicated, journaled as they finish.

Every (instruction, group) measurement the round still needs is sent once, in one executor call
(so the executor's concurrency spans the whole round). As answers arrive, a measurement completes
when all its examples are answered, and an evaluation completes when all its pending groups are
measured: it is handed to ``on_done`` (which journals it) at once. When the executor fails for good
it raises :class:`~droiz.exceptions.BackendError` after the requests in flight have finished; the
evaluations completed by then have been handed on, and every answer is in the response cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from droiz.llm import Completion, ExecRequest, Executor
from droiz.runner.loop.outcomes import Outcome, ScoreBook
from droiz.runner.loop.scoring import exec_request
from droiz.runner.problem import Problem
from droiz.tasks import Instance

logger = logging.getLogger(__name__)

Measurement = tuple[str, int]
"""``(instruction, group index)``."""


@dataclass
class _Pending:
    """A measurement in flight: its payer slot, answers so far and remaining count."""

    payer: int
    instances: list[Instance]
    predictions: list[str | None]
    remaining: int
    waiting: list[int] = field(default_factory=list)


class RoundExecution:
    """Measures what a round's evaluations need and completes them as results arrive.

    Args:
        problem: The run's groups and dev instances.
        executor: The (cached) executor.
        book: Measurements so far; updated in place.
        on_done: Called with each completed :class:`Outcome` (in completion order).
    """

    def __init__(
        self,
        problem: Problem,
        executor: Executor,
        book: ScoreBook,
        on_done: Callable[[Outcome], None],
    ) -> None:
        self.problem, self.executor, self.book, self.on_done = problem, executor, book, on_done
        self._outcomes: dict[int, Outcome] = {}
        self._needs: dict[int, set[Measurement]] = {}
        self._pending: dict[Measurement, _Pending] = {}
        self._owner: list[tuple[Measurement, int]] = []

    def run(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Measure what the outcomes' pending groups need; set their ``scores``; return them."""
        for o in outcomes:
            self._plan(o)
        requests = self._requests()
        for slot in [s for s, needs in self._needs.items() if not needs]:
            self._finish(slot)
        if requests:  # one cache lookup per request, in the (cached) executor
            self.executor.complete(requests, self._on_result)
        return [self._outcomes[o.slot] for o in outcomes]

    def _plan(self, o: Outcome) -> None:
        self._outcomes[o.slot] = o
        self._needs[o.slot] = set()
        for k in o.pending:
            if self.book.get(o.instruction, k) is not None:
                continue
            m = (o.instruction, k)
            if m not in self._pending:
                insts = self.problem.dev[k]
                self._pending[m] = _Pending(o.slot, insts, [None] * len(insts), len(insts))
                o.paid.append(k)
            self._pending[m].waiting.append(o.slot)
            self._needs[o.slot].add(m)

    def _requests(self) -> list[ExecRequest]:
        requests: list[ExecRequest] = []
        for m, p in self._pending.items():
            for i, inst in enumerate(p.instances):
                requests.append(exec_request(m[0], inst))
                self._owner.append((m, i))
        return requests

    def _on_result(self, index: int, completion: Completion) -> None:
        m, i = self._owner[index]
        p = self._pending[m]
        payer = self._outcomes[p.payer]
        if completion.cached:
            payer.cache_hits += 1
        else:
            payer.sent += 1
            payer.tokens += completion.prompt_tokens + completion.completion_tokens
        p.predictions[i] = completion.text
        p.remaining -= 1
        if p.remaining == 0:
            self._measured(m, p)

    def _measured(self, m: Measurement, p: _Pending) -> None:
        answers = [pred or "" for pred in p.predictions]
        scores = [
            self.problem.score(inst, answer)
            for inst, answer in zip(p.instances, answers, strict=True)
        ]
        self.book.add(m[0], m[1], scores, self._outcomes[p.payer].round, answers)
        for slot in p.waiting:
            self._needs[slot].discard(m)
            if not self._needs[slot]:
                self._finish(slot)

    def _finish(self, slot: int) -> None:
        o = self._outcomes[slot]
        o.scores = {k: list(self.book.get(o.instruction, k) or []) for k in o.pending}
        answers = {k: self.book.answers(o.instruction, k) for k in o.pending}
        o.answers = {k: list(a) for k, a in answers.items() if a is not None}
        queries = sum(len(self.problem.dev[k]) for k in o.pending)
        o.reused = queries - o.sent - o.cache_hits
        self.on_done(o)
