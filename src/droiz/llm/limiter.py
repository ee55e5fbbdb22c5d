"""AIMD concurrency: fewer requests in flight while the server answers 429, more when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)


class AdaptiveConcurrency:
    """A limit on requests in flight that halves on a 429 and grows back by one per window.

    Additive increase, multiplicative decrease (as TCP's congestion window): each answered
    attempt adds ``1 / limit`` (so a full window of answers adds one slot), up to ``maximum``;
    a 429 halves the limit (down to 1), at most once per window: a 429 for an attempt sent
    before the last cut does not cut again, so one burst of 429s halves the limit once. The
    counters survive between batches; :meth:`bind` makes the asyncio primitives of each one.

    Attributes:
        maximum: The configured concurrency. limit: The current limit (a float; ``int(limit)``
            slots). lowest: The lowest limit reached so far (for reports and tests).
    """

    def __init__(self, maximum: int, name: str = "") -> None:
        self.maximum = int(maximum)
        self.limit = float(maximum)
        self.lowest = self.maximum
        self.name = name
        self.in_flight = 0
        self._sent = 0
        self._cut_after = 0
        self._cond: asyncio.Condition | None = None

    def bind(self) -> None:
        """Start a batch on the running event loop (no request is in flight between batches)."""
        self._cond = asyncio.Condition()
        self.in_flight = 0

    @property
    def slots(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> int:
        """Wait for a free slot; returns the attempt's ticket for :meth:`release`."""
        assert self._cond is not None, "bind() first"
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.slots)
            self.in_flight += 1
            self._sent += 1
            return self._sent

    async def release(
        self, ticket: int, *, throttled: bool = False, answered: bool = False
    ) -> None:
        """Free the slot of attempt ``ticket``; ``throttled`` for a 429, ``answered`` for a 200."""
        assert self._cond is not None
        async with self._cond:
            self.in_flight -= 1
            if throttled and ticket > self._cut_after:
                self.limit = max(1.0, self.limit / 2.0)
                self._cut_after = self._sent
                self.lowest = min(self.lowest, self.slots)
                logger.warning(
                    "[%s] HTTP 429: %d requests in flight at most now (of %d)",
                    self.name,
                    self.slots,
                    self.maximum,
                )
            elif answered and self.limit < self.maximum:
                before = self.slots
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
                if self.slots > before:
                    logger.info("[%s] %d requests in flight at most now", self.name, self.slots)
            self._cond.notify_all()

    async def wait_release(self, timeout: float = 0.05) -> None:
        """Wait until some attempt releases its slot (or ``timeout`` seconds)."""
        assert self._cond is not None
        async with self._cond:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cond.wait(), timeout)
