"""Usage accounting: requests sent, cache hits and misses, tokens and cost."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from droiz.exceptions import ConfigError


@dataclass(frozen=True)
class Pricing:
    """Prices of one model in a currency of your choice, per one million tokens.

    Args:
        input_per_1m: Price of 1M prompt (input) tokens.
        output_per_1m: Price of 1M completion (output) tokens.
    """

    input_per_1m: float = 0.0
    output_per_1m: float = 0.0

    def __post_init__(self) -> None:
        if self.input_per_1m < 0 or self.output_per_1m < 0:
            raise ConfigError(f"prices must be >= 0, got {self.input_per_1m}, {self.output_per_1m}")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The cost of one call."""
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1e6


PriceTable = Mapping[str, Pricing | tuple[float, float]]
"""Prices by model name, e.g. ``{"gpt-4o-mini": (0.15, 0.60)}``."""

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}
"""Built-in prices (USD per 1M input and output tokens, OpenAI's list prices in 2025). A price
table given in the config extends and overrides it."""


def find_pricing(model: str, prices: PriceTable | Pricing | None) -> Pricing | None:
    """The :class:`Pricing` of ``model`` from ``prices`` or :data:`DEFAULT_PRICES`, or ``None``."""
    if isinstance(prices, Pricing):
        return prices
    entry = (prices or {}).get(model, DEFAULT_PRICES.get(model))
    if entry is None:
        return None
    if isinstance(entry, Pricing):
        return entry
    numbers = isinstance(entry, list | tuple) and len(entry) == 2
    if not numbers or not all(_is_price(v) for v in entry):
        raise ConfigError(
            f"the price of {model!r} must be [input_per_1M, output_per_1M], two numbers >= 0, "
            f"got {entry!r}"
        )
    return Pricing(*entry)


def _is_price(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0


def resolve_pricing(model: str, prices: PriceTable | Pricing | None) -> Pricing:
    """The :class:`Pricing` of ``model`` (see :func:`find_pricing`); free when it has none."""
    return find_pricing(model, prices) or Pricing()


@dataclass(frozen=True)
class StatsSnapshot:
    """An immutable copy of :class:`LLMStats`; snapshots subtract (``after - before``).

    Attributes:
        requests: Calls actually sent to a model (HTTP requests including retries, or local
            generations); zero for a run served entirely from the cache.
        retries: Of ``requests``, how many were retries after a transient fault.
        cache_hits: Requests answered from the cache (or by a duplicate in the same batch).
        cache_misses: Requests that had to go to the model.
        prompt_tokens: Input tokens reported by the model for the requests sent.
        completion_tokens: Output tokens reported by the model for the requests sent.
        cost: Cost of the requests sent, from the configured prices.
    """

    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    def __sub__(self, other: StatsSnapshot) -> StatsSnapshot:
        return StatsSnapshot(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, float]:
        """The counters as a plain dict (for JSON records)."""
        return asdict(self)


COUNTERS: tuple[str, ...] = tuple(f.name for f in fields(StatsSnapshot))
"""The usage counters: the fields of :class:`StatsSnapshot`, their one declaration."""


class LLMStats:
    """Thread-safe, mutable usage counters shared by an executor and its cache wrapper.

    The counters are those :class:`StatsSnapshot` declares (:data:`COUNTERS`); read them as
    attributes (``stats.requests``) or take a :meth:`snapshot` to compute the usage of one
    evaluation as a difference.

    Args:
        **counts: Initial values of counters, by name (0 otherwise).
    """

    def __init__(self, **counts: float) -> None:
        self._lock = threading.Lock()
        # counters by name: the int ones (requests, tokens) are given as numbers too
        self._values: dict[str, float] = asdict(StatsSnapshot(**counts))  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> float:
        values: dict[str, float] = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"LLMStats({inner})"

    def add(self, **counts: float) -> None:
        """Add to counters by name, e.g. ``stats.add(requests=1, retries=1)``."""
        with self._lock:
            for name, value in counts.items():
                if name not in self._values:
                    raise AttributeError(f"LLMStats has no counter {name!r}")
                self._values[name] += value

    def add_usage(self, prompt_tokens: int, completion_tokens: int, pricing: Pricing) -> None:
        """Count the tokens of one answered call and its cost."""
        cost = pricing.cost(prompt_tokens, completion_tokens)
        self.add(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost=cost)

    def snapshot(self) -> StatsSnapshot:
        """An immutable copy of the counters."""
        with self._lock:
            return StatsSnapshot(**self._values)  # type: ignore[arg-type]  # as in __init__
