"""Hard caps on what a run may spend: HTTP requests, tokens and cost, checked before each send.

One :class:`Budget` is shared by every client of a run (the executor and an ``api:`` generator).
Each HTTP attempt, retries included, first takes a :class:`Reservation`: one request, plus the
attempt's worst-case tokens (an upper bound of the prompt's tokens plus ``max_tokens``) and their
cost. An attempt is sent only if it fits under every cap together with the attempts in flight and
their reservations. When its answer arrives the reservation is settled to what the server
reported (estimated where it reported nothing), so the counters never exceed a cap. With a
ledger (:meth:`Budget.open_ledger`, :mod:`droiz.llm.ledger`) each reserve and settle is also
appended to a file, so a resume after a SIGKILL counts what was sent.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

from droiz.exceptions import BackendError, ConfigError
from droiz.llm.ledger import Ledger
from droiz.llm.stats import Pricing

CAPS = ("max_requests", "max_tokens", "max_cost")
PROMPT_OVERHEAD = 16
"""Tokens a chat template may add around one prompt (role markers, BOS): part of the bound."""


class BudgetExceeded(BackendError):
    """The next request would not fit under a cap; ``cap`` names it (``max_requests``, ...)."""

    def __init__(self, message: str, cap: str, retry_later: bool = False) -> None:
        super().__init__(message)
        self.cap = cap
        self.retry_later = retry_later


def prompt_token_bound(prompt: str) -> int:
    """An upper bound of the tokens of ``prompt``: its UTF-8 bytes plus :data:`PROMPT_OVERHEAD`.

    Byte-level BPE and byte-fallback tokenizers never make a token of less than one byte.
    """
    return len(prompt.encode("utf-8")) + PROMPT_OVERHEAD


def estimate_tokens(text: str) -> int:
    """A typical token count of ``text`` (4 characters a token), for servers reporting none."""
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class Reservation:
    """One attempt's hold on the budget: its worst-case tokens and cost."""

    tokens: int
    cost: float


@dataclass(frozen=True)
class Limits:
    """The caps; ``None`` is no cap."""

    max_requests: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_requests", "max_tokens"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be an integer >= 1, got {value!r}")
        cost = self.max_cost
        if cost is not None and (
            isinstance(cost, bool)
            or not isinstance(cost, int | float)
            or not math.isfinite(cost)
            or cost <= 0
        ):
            raise ConfigError(f"--max-cost must be a number of USD > 0, got {cost!r}")

    @property
    def any(self) -> bool:
        return any(getattr(self, name) is not None for name in CAPS)


class Budget:
    """Counters of what was sent, and the caps they must stay under (thread-safe).

    Args:
        limits: The caps.
        requests, tokens, cost: Already spent (earlier sessions of a resumed run).
    """

    def __init__(
        self, limits: Limits | None = None, *, requests: int = 0, tokens: int = 0, cost: float = 0.0
    ) -> None:
        self.limits = limits or Limits()
        self.requests, self.tokens, self.cost = int(requests), int(tokens), float(cost)
        self.in_flight = 0
        self._held_tokens = 0
        self._held_cost = 0.0
        self._lock = threading.Lock()
        self._ledger: Ledger | None = None

    def open_ledger(self, path: Path, session: int = 1) -> None:
        """Append the running totals to the ledger at ``path`` from now on, as ``session`` (the
        first line: the totals now, which include what earlier sessions spent)."""
        with self._lock:
            self._ledger = Ledger(path, session=session)
            self._record()

    def close_ledger(self) -> None:
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None

    def _record(self) -> None:
        """One ledger line of the totals (under the lock, so lines keep their order)."""
        if self._ledger is not None:
            self._ledger.write(
                self.requests, self.tokens, self.cost, self._held_tokens, self._held_cost
            )

    def __repr__(self) -> str:
        return (
            f"Budget(requests={self.requests}, tokens={self.tokens}, cost={self.cost:.6f}, "
            f"limits={self.limits})"
        )

    def reserve(self, worst_tokens: int, worst_cost: float) -> Reservation:
        """Hold one request and its worst case, or raise :class:`BudgetExceeded`.

        Raises:
            BudgetExceeded: The request does not fit now. ``retry_later`` on the exception says
                whether it might once the attempts in flight settle (tokens and cost only).
        """
        lim = self.limits
        with self._lock:
            if lim.max_requests is not None and self.requests + 1 > lim.max_requests:
                raise self._exceeded("max_requests", f"{self.requests} requests sent")
            if lim.max_tokens is not None and (
                self.tokens + self._held_tokens + worst_tokens > lim.max_tokens
            ):
                raise self._exceeded(
                    "max_tokens",
                    f"{self.tokens} tokens used, {self._held_tokens} held by requests in flight, "
                    f"the next one may take {worst_tokens}",
                )
            if lim.max_cost is not None and (
                self.cost + self._held_cost + worst_cost > lim.max_cost
            ):
                raise self._exceeded(
                    "max_cost",
                    f"{self.cost:.6f} USD spent, {self._held_cost:.6f} held by requests in "
                    f"flight, the next one may cost {worst_cost:.6f}",
                )
            self.requests += 1
            self.in_flight += 1
            self._held_tokens += worst_tokens
            self._held_cost += worst_cost
            self._record()  # before the request is sent
        return Reservation(worst_tokens, worst_cost)

    def settle(self, reservation: Reservation, tokens: int, cost: float) -> None:
        """Release ``reservation`` and count what the attempt actually used."""
        with self._lock:
            self.in_flight -= 1
            self._held_tokens -= reservation.tokens
            held = max(0.0, self._held_cost - reservation.cost)  # float sums do not cancel
            self._held_cost = held if self.in_flight else 0.0  # exactly: none in flight, none held
            self.tokens += int(tokens)
            self.cost += float(cost)
            self._record()

    def _exceeded(self, cap: str, detail: str) -> BudgetExceeded:
        limit = getattr(self.limits, cap)
        shown = f"{limit:g} USD" if cap == "max_cost" else str(limit)
        message = f"stopped at the --{cap.replace('_', '-')} cap of {shown} ({detail})"
        return BudgetExceeded(message, cap, cap != "max_requests" and self.in_flight > 0)

    def usage(self) -> dict[str, float]:
        """``budget_requests``, ``budget_tokens`` and ``budget_cost`` spent so far."""
        with self._lock:
            return {
                "budget_requests": self.requests,
                "budget_tokens": self.tokens,
                "budget_cost": self.cost,
            }


def worst_case(prompt: str, max_tokens: int, pricing: Pricing) -> tuple[int, float]:
    """The most tokens and cost one attempt with ``prompt`` can take."""
    bound = prompt_token_bound(prompt)
    return bound + max_tokens, pricing.cost(bound, max_tokens)
