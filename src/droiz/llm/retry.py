"""Retry policy: exponential backoff with jitter, honouring ``Retry-After``."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from droiz.exceptions import ConfigError


@dataclass(frozen=True)
class RetryPolicy:
    """How transient faults (429, 5xx, timeouts, torn connections, malformed bodies) are retried.

    Retries are bounded by time: a request is retried until ``max_elapsed`` seconds have passed
    since its first attempt (and, when given, at most ``max_retries`` times). The wait before
    retry ``k`` (0-based) is ``min(max_delay, base_delay * 2**k)`` stretched by a random factor
    in ``[1, 1 + jitter]``. When the server sent ``Retry-After`` (or OpenAI's ``retry-after-ms``)
    that wait is used instead, capped at ``max_retry_after`` and at least ``base_delay``: so
    ``Retry-After: 0`` still waits, and a burst of 429s cannot burn a request's retries at once.

    The defaults outlast long runs of random faults as well as outages: within ten minutes a
    request gets at least 44 attempts (the backoff reaches its 10 s cap after five retries), so
    at 60 % transient faults one request gives up with probability at most ``0.6**44``, about
    2e-10 (``benchmarks/bench_faults.py`` measures whole runs with these defaults).

    Args:
        max_elapsed: Seconds after a request's first attempt during which it is retried
            (default 600: ten minutes).
        max_retries: Optional bound on the retries of one request (``None``: time only).
        base_delay: Seconds before the first retry.
        max_delay: Cap of the exponential backoff, in seconds (default 10).
        jitter: Relative random stretch of each backoff.
        max_retry_after: Cap of a server-requested wait, in seconds.
        seed: Seed of the jitter's random generator (reproducible waits).
    """

    max_elapsed: float = 600.0
    max_retries: int | None = None
    base_delay: float = 0.5
    max_delay: float = 10.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    seed: int | None = 0

    def __post_init__(self) -> None:
        numbers: tuple[float, ...] = (self.max_elapsed, self.base_delay, self.max_delay)
        numbers += (self.jitter,)
        numbers += (self.max_retry_after,)
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers):
            raise ConfigError(f"retry settings must be numbers, got {self}")
        if self.max_elapsed < 0 or self.base_delay < 0 or self.max_delay < 0 or self.jitter < 0:
            raise ConfigError(f"retry settings must be >= 0, got {self}")
        if self.max_retries is not None and (
            not isinstance(self.max_retries, int) or self.max_retries < 0
        ):
            raise ConfigError(f"retry max_retries must be an integer >= 0, got {self}")

    def rng(self) -> random.Random:
        """A fresh jitter generator."""
        return random.Random(self.seed)

    def wait(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after is not None:
            return max(self.base_delay, min(retry_after, self.max_retry_after))
        backoff = min(self.max_delay, self.base_delay * 2.0**retry)
        return backoff * (1.0 + self.jitter * rng.random())

    def gives_up(self, retries: int, elapsed: float, wait: float) -> bool:
        """Whether to stop after ``retries`` retries, ``elapsed`` seconds, before a ``wait``."""
        if self.max_retries is not None and retries >= self.max_retries:
            return True
        return elapsed + wait > self.max_elapsed


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds requested by ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
