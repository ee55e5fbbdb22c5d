"""DSPy LMs whose every request is counted against droiz's caps before it is sent.

:func:`metered` copies a DSPy LM with DSPy's response cache off and DSPy's own retries off, and
makes the copy's class a subclass of the LM's class whose ``__call__`` takes a
:class:`~droiz.llm.budget.Budget` reservation before each attempt (one HTTP request: DSPy's
managed engines make one attempt per call) and retries transient faults itself, with droiz's
:class:`~droiz.llm.retry.RetryPolicy` and as many retries as the LM's ``num_retries``. Every call
an adapter makes (the chat adapter's fallback to JSON included) goes through it, so the caps
count every request the server sees.

Tokens and cost are settled from the usage the LM reports (DSPy's usage tracker hook, forwarded
to the caller's own tracker), or estimated from the text when it reports none.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.utils.exceptions import is_retryable_lm_error

from droiz.llm.budget import Budget, BudgetExceeded, Reservation, estimate_tokens, worst_case
from droiz.llm.retry import RetryPolicy
from droiz.llm.stats import Pricing


@dataclass
class Meter:
    """What every metered LM of one ``compile`` shares: the budget, and the prices for costs.

    Attributes:
        budget: The caps and counters (with the run's ledger when it has a directory).
        pricing: ``model -> Pricing`` (``None``: the model is not priced, its cost is 0).
        bound_tokens: Whether reservations need each attempt's worst case (a token or cost cap).
        retry: The retry policy's timing (the number of retries is each LM's ``num_retries``).
    """

    budget: Budget
    pricing: Callable[[str], Pricing | None] = lambda model: None
    bound_tokens: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    refused: dict[int, BudgetExceeded] = field(default_factory=dict)
    """The last cap refusal in each thread (by thread id), kept even if the program caught it:
    an answer computed after a refusal is not the program's (see :meth:`take_refusal`)."""

    def reserve(self, tokens: int, cost: float, n: int = 1) -> list[Reservation]:
        """``n`` reservations from the budget, or none; a refusal is remembered for this
        thread."""
        taken: list[Reservation] = []
        try:
            for _ in range(n):
                taken.append(self.budget.reserve(tokens, cost))
        except BudgetExceeded as exc:
            self.settle(taken, 0, 0.0)
            self.refused[threading.get_ident()] = exc
            raise
        return taken

    def settle(self, reservations: list[Reservation], tokens: int, cost: float) -> None:
        """Settle ``reservations`` with what the call used (counted once)."""
        for i, reservation in enumerate(reservations):
            self.budget.settle(reservation, tokens if i == 0 else 0, cost if i == 0 else 0.0)

    def take_refusal(self) -> BudgetExceeded | None:
        """The cap refusal this thread met since the last call, if any (and forget it)."""
        return self.refused.pop(threading.get_ident(), None)


class _Usage:
    """DSPy's usage-tracker hook for one call: keeps what it reports, passes it on."""

    def __init__(self, outer: Any) -> None:
        self.outer = outer
        self.prompt_tokens = self.completion_tokens = 0
        self.reported = False

    def add_usage(self, lm: str, usage: dict[str, Any]) -> None:
        if self.outer is not None:
            self.outer.add_usage(lm, usage)
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.reported = True


class _MeteredLM:
    """The mixin of a metered LM's class (see :func:`metered`)."""

    _droiz_meter: Meter
    _droiz_retries: int
    kwargs: Any  # the LM's generation settings (dspy.LM.kwargs; dspy has no type hints)

    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        meter, lm = self._droiz_meter, self
        text = _text(prompt, messages)
        model = str(getattr(lm, "model", ""))
        pricing = meter.pricing(model)
        worst_tokens, worst_cost = 0, 0.0
        if meter.bound_tokens:
            limit = int(lm.kwargs.get("max_tokens") or lm.kwargs.get("max_completion_tokens"))
            worst_tokens, worst_cost = worst_case(text, limit, pricing or Pricing())
        # DSPy's native engine sends one request per completion (n > 1); counted as such even
        # where a back end sends one request for all of them
        n = int(kwargs.get("n") or lm.kwargs.get("n") or 1)
        rng, start, retries = meter.retry.rng(), time.monotonic(), 0
        while True:
            reservations = meter.reserve(worst_tokens, worst_cost, n)
            usage = _Usage(dspy.settings.usage_tracker)
            try:
                with dspy.context(usage_tracker=usage):
                    # a mixin: super() is the LM class it is mixed into
                    outputs = super().__call__(prompt, messages=messages, **kwargs)  # type: ignore[misc]
            except Exception as exc:
                meter.settle(reservations, 0, 0.0)
                wait = meter.retry.wait(retries, rng, getattr(exc, "retry_after", None))
                elapsed = time.monotonic() - start
                if (
                    not is_retryable_lm_error(exc)
                    or retries >= self._droiz_retries
                    or meter.retry.gives_up(retries, elapsed, wait)
                ):
                    raise
                time.sleep(wait)
                retries += 1
                continue
            if usage.reported:
                prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
            else:
                prompt_tokens = estimate_tokens(text)
                completion_tokens = estimate_tokens(_text(None, None, outputs))
            cost = pricing.cost(prompt_tokens, completion_tokens) if pricing else 0.0
            meter.settle(reservations, prompt_tokens + completion_tokens, cost)
            return outputs

    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        """The same metered call, in a worker thread."""
        return await asyncio.to_thread(self.__call__, prompt, messages=messages, **kwargs)


_CLASSES: dict[type, type] = {}


def metered(lm: Any, meter: Meter) -> Any:
    """A copy of the DSPy LM ``lm`` whose every request is counted by ``meter`` (see the module
    docstring); ``lm`` itself is not changed."""
    if isinstance(lm, _MeteredLM):
        return lm
    base = type(lm)
    cls = _CLASSES.get(base)
    if cls is None:
        cls = _CLASSES[base] = type(f"Metered{base.__name__}", (_MeteredLM, base), {})
    copy = lm.copy(cache=False, num_retries=0)
    copy.__class__ = cls
    copy._droiz_meter = meter
    copy._droiz_retries = int(getattr(lm, "num_retries", 0) or 0)
    return copy


def _text(prompt: Any, messages: Any, outputs: Any = None) -> str:
    """The text of a prompt, a message list or the outputs of a call (for token bounds)."""
    parts: list[str] = []
    if prompt is not None:
        parts.append(str(prompt))
    for message in messages or []:
        content = message.get("content") if isinstance(message, dict) else message
        parts.append(content if isinstance(content, str) else str(content))
    for output in outputs or []:
        parts.append(str(output.get("text", "")) if isinstance(output, dict) else str(output))
    return "\n".join(parts)
