"""Executor for any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, ...)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from droiz._imports import require
from droiz.exceptions import BackendError, ConfigError
from droiz.llm._async import run_sync
from droiz.llm.base import (
    Capabilities,
    Completion,
    ExecRequest,
    Executor,
    OnResult,
    make_fingerprint,
)
from droiz.llm.budget import Budget, BudgetExceeded, Reservation, estimate_tokens, worst_case
from droiz.llm.cache import endpoint_namespace
from droiz.llm.endpoint import Endpoint, parse_base_url
from droiz.llm.faults import Transient, is_retryable, parse_completion, permanent_problem
from droiz.llm.limiter import AdaptiveConcurrency
from droiz.llm.retry import RetryPolicy, parse_retry_after
from droiz.llm.stats import LLMStats, PriceTable, Pricing, find_pricing, resolve_pricing
from droiz.redact import protect_logs, redact, redact_known, register_env_secret

if TYPE_CHECKING:
    from openai import AsyncOpenAI

logger = logging.getLogger(__name__)

PLACEHOLDER_KEY = "droiz-no-key"
_sleep = asyncio.sleep  # the backoff wait; tests replace it to record waits
FLAVOURS = ("chat", "completions")


@dataclass
class _Run:
    """State shared by the requests of one :meth:`OpenAIExecutor.acomplete` call."""

    rng: random.Random
    limiter: AdaptiveConcurrency
    error: BackendError | None = None
    results: list[Completion | None] = field(default_factory=list)

    def failed(self) -> bool:
        return self.error is not None


class OpenAIExecutor(Executor):
    """Runs prompts on an OpenAI-compatible endpoint through the ``openai`` SDK (async).

    Transient faults (429 honouring ``Retry-After``, 5xx, 408/409, timeouts, torn connections,
    malformed bodies: invalid JSON, no ``choices``, no text) are retried by :class:`RetryPolicy`,
    bounded by time; the SDK's own retries are off, so that every HTTP attempt passes the
    :class:`~droiz.llm.budget.Budget` first and malformed bodies are retried too. Requests in
    flight are limited by an :class:`~droiz.llm.limiter.AdaptiveConcurrency` that halves while
    429s persist and grows back when they stop. A request that still fails, a permanent error
    (401/403, 404, a prompt over the context, other 4xx) or a cap of the budget stops new
    requests from starting, lets the ones in flight finish (their answers reach ``on_result``)
    and then raises :class:`~droiz.exceptions.BackendError` (:class:`BudgetExceeded` for a cap)
    naming the model, the request and what to do.

    The API key is read from the environment variable named ``api_key_env`` each time a client is
    built; it is never stored on the executor, logged, or put in a fingerprint. Endpoints without
    auth (a local server given by ``base_url``) work without the variable (a placeholder is sent).

    Args:
        model: Model name as the endpoint knows it.
        base_url: Endpoint base URL, e.g. ``http://127.0.0.1:8000/v1``; ``None`` is OpenAI.
        api_key_env: Name of the environment variable holding the API key.
        flavour: ``"chat"`` (``/chat/completions``) or ``"completions"`` (``/completions``).
        temperature: Sampling temperature; 0 is greedy and cacheable without a sample index.
        max_tokens: Maximum answer length in tokens.
        stop: Stop sequences.
        system_prompt: Optional system message (chat flavour only).
        extra_params: Further request parameters (e.g. ``{"top_p": 1}``), part of the fingerprint.
        concurrency: Maximum requests in flight.
        timeout: Seconds before one attempt times out.
        retry: The retry policy.
        prices: Prices per 1M tokens, by model name or one :class:`Pricing`.
        cache_namespace: Namespace in cache keys; defaults to a hash of the endpoint's host and
            port.
        stats: Counters to update; a fresh :class:`LLMStats` by default.
        budget: Caps shared with the run's other clients; a fresh, uncapped one by default.
    """

    capabilities = Capabilities(http=True, priced=True, token_option="max_tokens")

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        flavour: str = "chat",
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: Sequence[str] | None = None,
        system_prompt: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
        concurrency: int = 16,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        prices: PriceTable | Pricing | None = None,
        cache_namespace: str | None = None,
        stats: LLMStats | None = None,
        budget: Budget | None = None,
    ) -> None:
        if not model:
            raise ConfigError("the executor needs a model name, e.g. openai:gpt-4o-mini")
        if flavour not in FLAVOURS:
            raise ConfigError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
        if concurrency < 1 or timeout <= 0 or max_tokens < 1 or temperature < 0:
            raise ConfigError(
                "need concurrency >= 1, timeout > 0, max_tokens >= 1, temperature >= 0"
            )
        self.endpoint = parse_base_url(base_url, "base_url") if base_url is not None else None
        self.model = model
        self.base_url = self.endpoint.shown if self.endpoint else None  # credentials masked
        self.api_key_env = api_key_env
        self.flavour = flavour
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.stop = list(stop) if stop else None
        self.system_prompt = system_prompt
        self.extra_params = dict(extra_params or {})
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.priced = find_pricing(model, prices) is not None
        self.pricing = resolve_pricing(model, prices)
        self.namespace = cache_namespace or endpoint_namespace(
            self.endpoint.url if self.endpoint else None
        )
        self.stats = stats if stats is not None else LLMStats()
        protect_logs()  # the key and URL credentials are masked in every log record
        register_env_secret(api_key_env)  # (parse_base_url registered the URL's credentials)
        self.budget = budget if budget is not None else Budget()
        self.limiter = AdaptiveConcurrency(self.concurrency, model)
        self.reached = False  # a connection succeeded once: later refusals are transient
        if base_url is None and not os.environ.get(api_key_env):
            raise ConfigError(
                f"no API key: set the environment variable {api_key_env} (or choose another "
                "variable with api_key_env), or give base_url for a local server without auth"
            )

    def __repr__(self) -> str:
        return (
            f"OpenAIExecutor(model={self.model!r}, flavour={self.flavour!r}, "
            f"temperature={self.temperature}, namespace={self.namespace!r})"
        )

    def params(self) -> dict[str, Any]:
        """The generation parameters sent with every request."""
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.stop:
            params["stop"] = self.stop
        return {**params, **self.extra_params}

    @property
    def fingerprint(self) -> str:
        info = {"namespace": self.namespace, "flavour": self.flavour, "system": self.system_prompt}
        return make_fingerprint("openai", self.model, {**info, **self.params()})

    def complete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        """Synchronous :meth:`acomplete` (see :func:`~droiz.llm._async.run_sync` inside a loop)."""
        return run_sync(self.acomplete(requests, on_result))

    async def acomplete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        """Answer every request concurrently; results in order.

        Raises:
            BackendError: A request failed for good, or (:class:`BudgetExceeded`) a cap stopped
                the batch; never a partial list.
        """
        if not requests:
            return []
        self.limiter = limiter = self.limiter.fresh()  # the latest batch's, for inspection
        run = _Run(rng=self.retry.rng(), limiter=limiter, results=[None] * len(requests))
        client = self._client()

        async def one(index: int, request: ExecRequest) -> None:
            completion = await self._attempts(client, index, request, run)
            if completion is not None:
                run.results[index] = completion
                if on_result is not None:
                    on_result(index, completion)

        try:
            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        finally:
            await client.close()
        if run.error is not None:
            raise run.error
        missing = [i for i, c in enumerate(run.results) if c is None]
        if missing:  # cannot happen without an error above; never return a shorter list
            raise self._error(missing[0], f"no answer for {len(missing)} request(s)")
        return [c for c in run.results if c is not None]

    def _client(self) -> AsyncOpenAI:
        """The SDK's client: the endpoint's URL without credentials or query, the query sent
        with every request, the URL's user-info as the HTTP client's Basic auth."""
        openai = require("openai", "openai")
        key = os.environ.get(self.api_key_env) or PLACEHOLDER_KEY
        options: dict[str, Any] = {}
        endpoint = self.endpoint
        if endpoint is not None:
            options["base_url"] = endpoint.url
            if endpoint.query:
                options["default_query"] = dict(endpoint.query)
            if endpoint.auth is not None:
                options["http_client"] = openai.DefaultAsyncHttpxClient(auth=endpoint.auth)
        client: AsyncOpenAI = openai.AsyncOpenAI(
            api_key=key, max_retries=0, timeout=self.timeout, **options
        )
        return client

    async def _attempts(
        self, client: AsyncOpenAI, index: int, request: ExecRequest, run: _Run
    ) -> Completion | None:
        """Send one request with retries; ``None`` when it (or another request) failed.

        Retries stop once the request has spent ``retry.max_elapsed`` seconds in attempts and
        backoff waits (time spent queueing for a slot under a reduced concurrency is not
        counted, so a long batch does not starve its retries).
        """
        prompt = request.prompt
        worst_tokens, worst_cost = worst_case(prompt, self.max_tokens, self.pricing)
        spent, retries, reason = 0.0, 0, ""
        while True:
            slot = await self._slot(run, worst_tokens, worst_cost)
            if slot is None:
                return None
            reservation, ticket = slot
            self.stats.add(requests=1, retries=1 if retries else 0)
            started = time.monotonic()
            try:
                completion, reported = await self._send(client, index, request)
            except Transient as fault:
                used = reservation.tokens if fault.unanswered else 0
                cost = reservation.cost if fault.unanswered else 0.0
                self.budget.settle(reservation, used, cost)
                run.limiter.release(ticket, throttled=fault.throttled)
                spent += time.monotonic() - started
                wait = self.retry.wait(retries, run.rng, fault.retry_after)
                reason = fault.reason
                if self.retry.gives_up(retries, spent, wait) or run.error is not None:
                    break
                self._log_retry(index, retries, fault, wait)
                await _sleep(wait)
                spent += wait
                retries += 1
                continue
            except BaseException as exc:
                self.budget.settle(reservation, 0, 0.0)
                run.limiter.release(ticket)
                if isinstance(exc, BackendError):
                    run.error = run.error or exc
                    return None
                raise
            if not reported:
                completion = Completion(
                    completion.text, estimate_tokens(prompt), estimate_tokens(completion.text)
                )
            tokens = completion.prompt_tokens + completion.completion_tokens
            cost = self.pricing.cost(completion.prompt_tokens, completion.completion_tokens)
            self.budget.settle(reservation, tokens, cost)
            run.limiter.release(ticket, answered=True)
            self.stats.add_usage(
                completion.prompt_tokens, completion.completion_tokens, self.pricing
            )
            return completion
        if run.error is None:
            attempts = retries + 1
            problem = f"{reason} (gave up after {attempts} attempts in {spent:.0f} s)"
            run.error = self._error(index, problem)
        return None

    async def _slot(
        self, run: _Run, worst_tokens: int, worst_cost: float
    ) -> tuple[Reservation, int] | None:
        """A concurrency slot and a budget reservation, or ``None`` once the batch has failed."""
        while True:
            if run.failed():
                return None
            ticket = await run.limiter.acquire()
            if run.failed():  # another request may have failed meanwhile
                run.limiter.release(ticket)
                return None
            try:
                return self.budget.reserve(worst_tokens, worst_cost), ticket
            except BudgetExceeded as exc:
                run.limiter.release(ticket)
                if not exc.retry_later:
                    run.error = run.error or exc
                    return None
            await asyncio.sleep(0.02)  # tokens or cost may fit once the attempts in flight settle

    def _log_retry(self, index: int, retries: int, fault: Transient, wait: float) -> None:
        logger.warning(
            "[%s] request %d: %s; retry %d in %.2f s",
            self.model,
            index,
            self._redact(fault.reason),
            retries + 1,
            wait,
        )

    async def _send(
        self, client: AsyncOpenAI, index: int, request: ExecRequest
    ) -> tuple[Completion, bool]:
        """One attempt; raises :class:`Transient` for retryable faults, BackendError otherwise."""
        openai = require("openai", "openai")
        try:
            text = await self._create(client, request.prompt)
        except openai.APIStatusError as exc:
            self.reached = True
            status = int(exc.status_code)
            if is_retryable(status):
                raise Transient(
                    f"HTTP {status}",
                    parse_retry_after(exc.response.headers),
                    throttled=status == 429,
                    unanswered=False,
                ) from None
            detail = str(exc.message).removeprefix(f"Error code: {status} - ")
            models = await self._models(client) if status == 404 else None
            problem = permanent_problem(
                status, detail, model=self.model, api_key_env=self.api_key_env, models=models
            )
            raise self._error(index, problem) from None
        except openai.APITimeoutError:
            raise Transient(f"timed out after {self.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            cause = type(exc.__cause__ or exc).__name__
            if cause == "ConnectError" and not self.reached:  # nothing listens there, yet
                where = _host(self.endpoint) if self.endpoint else "the OpenAI API"
                problem = f"cannot reach {where} ({cause}); start the server or fix --base-url"
                raise self._error(index, problem) from None
            raise Transient(f"connection error ({cause})") from None
        except openai.APIError as exc:  # anything else the SDK reports about a response
            raise Transient(f"API error ({type(exc).__name__})") from None
        self.reached = True
        return parse_completion(redact_known(text), self.flavour)  # a server may echo the key

    async def _models(self, client: AsyncOpenAI) -> list[str] | None:
        """The model ids the endpoint's ``/models`` lists, or ``None`` when it has none (or the
        budget has no request left for asking: the lookup is an HTTP request too)."""
        try:
            reservation = self.budget.reserve(0, 0.0)
        except BudgetExceeded:
            return None
        try:
            page = await client.models.list()
            return [str(m.id) for m in page.data]
        except Exception:  # no such endpoint, or anything else: the message goes without it
            return None
        finally:
            self.budget.settle(reservation, 0, 0.0)

    async def _create(self, client: AsyncOpenAI, prompt: str) -> str:
        """POST the request through the SDK's generic ``client.post`` and return the raw body.

        The typed ``chat.completions.create`` validates and transforms every request body (about
        0.5 ms of CPU each); the body here is already plain JSON, and parsing the raw text lets
        malformed answers be retried.
        """
        body: dict[str, Any] = {"model": self.model, **self.params()}
        if self.flavour == "completions":
            return await client.post("/completions", cast_to=str, body={**body, "prompt": prompt})
        messages = [{"role": "user", "content": prompt}]
        if self.system_prompt:
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        return await client.post(
            "/chat/completions", cast_to=str, body={**body, "messages": messages}
        )

    def _error(self, index: int, problem: str) -> BackendError:
        return BackendError(self._redact(f"[{self.model}] request {index} failed: {problem}"))

    def _redact(self, text: str) -> str:
        """``text`` with the API key replaced by ``***`` (server text can echo it back)."""
        key = os.environ.get(self.api_key_env)
        return redact(text.replace(key, "***") if key else text)


def _host(endpoint: Endpoint) -> str:
    """``scheme://host:port`` of ``endpoint``, without credentials, path or query."""
    return f"{urlsplit(endpoint.url).scheme}://{endpoint.host}:{endpoint.port}"
