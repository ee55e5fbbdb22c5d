"""AIMD concurrency: fewer requests in flight while the server answers 429, more when it stops."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

logger = logging.getLogger(__name__)


class AdaptiveConcurrency:
    """A limit on requests in flight that halves on a 429 and grows back by one per window.

    Additive increase, multiplicative decrease (as TCP's congestion window): each answered
    attempt adds ``1 / limit`` (so a full window of answers adds one slot), up to ``maximum``;
    a 429 halves the limit (down to 1), at most once per window: a 429 for an attempt sent
    before the last cut does not cut again, so one burst of 429s halves the limit once.

    Waiters are served first come, first served, and a release wakes only as many of them as
    there are free slots (as :class:`asyncio.Semaphore` does), so a large batch costs no
    quadratic wake-ups. Each batch has its own limiter (:meth:`fresh`), used on one event loop's
    thread, so batches run from several threads at once do not share waiters.

    Attributes:
        maximum: The configured concurrency. limit: The current limit (a float; ``slots`` is
            its integer part, at least 1). lowest: The lowest number of slots so far.
    """

    def __init__(self, maximum: int, name: str = "") -> None:
        self.maximum = int(maximum)
        self.limit = float(maximum)
        self.lowest = self.maximum
        self.name = name
        self.in_flight = 0
        self._sent = 0
        self._cut_after = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def fresh(self) -> AdaptiveConcurrency:
        """A limiter for a new batch (its own waiters, on the loop that runs it) that starts
        from this one's limit, so that a reduced concurrency carries over between batches."""
        out = AdaptiveConcurrency(self.maximum, self.name)
        out.limit, out.lowest = self.limit, self.lowest
        return out

    @property
    def slots(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> int:
        """Wait for a free slot; returns the attempt's ticket for :meth:`release`."""
        if self.in_flight < self.slots and not self._waiters:
            self.in_flight += 1
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter  # the releaser hands its slot over (in_flight already counts it)
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.in_flight -= 1  # handed over just before the cancellation: give back
                    self._wake()
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        self._sent += 1
        return self._sent

    def release(self, ticket: int, *, throttled: bool = False, answered: bool = False) -> None:
        """Free the slot of attempt ``ticket``; ``throttled`` for a 429, ``answered`` for a 200."""
        self.in_flight -= 1
        if throttled and ticket > self._cut_after:
            self.limit = max(1.0, self.limit / 2.0)
            self._cut_after = self._sent
            self.lowest = min(self.lowest, self.slots)
            logger.warning(
                "[%s] HTTP 429: at most %d requests in flight now (of %d)",
                self.name,
                self.slots,
                self.maximum,
            )
        elif answered and self.limit < self.maximum:
            before = self.slots
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            if self.slots > before:
                logger.info("[%s] at most %d requests in flight now", self.name, self.slots)
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.slots:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)
