"""Executor for any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, ...)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from droiz._imports import require
from droiz.exceptions import BackendError, ConfigError
from droiz.llm._async import run_sync
from droiz.llm.base import Completion, ExecRequest, Executor, OnResult, make_fingerprint
from droiz.llm.cache import endpoint_namespace
from droiz.llm.retry import RetryPolicy, parse_retry_after
from droiz.llm.stats import LLMStats, PriceTable, Pricing, resolve_pricing
from droiz.redact import protect_logs, redact, redact_known, redact_url, register_env_secret

logger = logging.getLogger(__name__)

PLACEHOLDER_KEY = "droiz-no-key"
_sleep = asyncio.sleep  # the backoff wait; tests replace it to record waits
FLAVOURS = ("chat", "completions")


class _Transient(Exception):
    """A fault worth retrying; ``reason`` is safe to log."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class _Run:
    """State shared by the requests of one :meth:`OpenAIExecutor.acomplete` call."""

    rng: random.Random
    error: BackendError | None = None
    results: list[Completion | None] = field(default_factory=list)


class OpenAIExecutor(Executor):
    """Runs prompts on an OpenAI-compatible endpoint through the ``openai`` SDK (async).

    Requests run concurrently under a semaphore. Transient faults (429 honouring ``Retry-After``,
    5xx, 408/409, timeouts, connection errors, malformed bodies: invalid JSON, no ``choices``, no
    text) are retried by :class:`RetryPolicy` (the SDK's own retries are off). A request that still
    fails, or a permanent error (400, 401, 404, ...), stops new requests from starting, lets the
    ones in flight finish (their answers reach ``on_result``) and then raises
    :class:`~droiz.exceptions.BackendError` naming the model, the problem and the request index.

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
    """

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
    ) -> None:
        if not model:
            raise ConfigError("the executor needs a model name, e.g. openai:gpt-4o-mini")
        if flavour not in FLAVOURS:
            raise ConfigError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
        if concurrency < 1 or timeout <= 0 or max_tokens < 1 or temperature < 0:
            raise ConfigError(
                "need concurrency >= 1, timeout > 0, max_tokens >= 1, temperature >= 0"
            )
        self.model = model
        self.base_url = base_url
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
        self.pricing = resolve_pricing(model, prices)
        self.namespace = cache_namespace or endpoint_namespace(base_url)
        self.stats = stats if stats is not None else LLMStats()
        protect_logs()  # the key and URL credentials are masked in every log record
        register_env_secret(api_key_env)
        redact_url(base_url)  # registers credentials in the URL as secrets
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
        """Answer every request concurrently; results in order."""
        run = _Run(rng=self.retry.rng(), results=[None] * len(requests))
        if not requests:
            return []
        client = self._client()
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(index: int, request: ExecRequest) -> None:
            async with semaphore:
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
        return [c for c in run.results if c is not None]

    def _client(self) -> Any:
        openai = require("openai", "openai")
        key = os.environ.get(self.api_key_env) or PLACEHOLDER_KEY
        return openai.AsyncOpenAI(
            api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout
        )

    async def _attempts(
        self, client: Any, index: int, request: ExecRequest, run: _Run
    ) -> Completion | None:
        """Send one request with retries; ``None`` when another request already failed."""
        reason = ""
        for attempt in range(self.retry.max_retries + 1):
            if run.error is not None:
                return None
            self.stats.add(requests=1, retries=1 if attempt else 0)
            try:
                completion = await self._send(client, index, request)
            except _Transient as fault:
                reason = fault.reason
                if attempt < self.retry.max_retries:
                    await self._backoff(index, attempt, fault, run)
                continue
            except BackendError as exc:
                run.error = run.error or exc
                return None
            self.stats.add_usage(
                completion.prompt_tokens, completion.completion_tokens, self.pricing
            )
            return completion
        attempts = self.retry.max_retries + 1
        run.error = run.error or self._error(index, f"{reason} (gave up after {attempts} attempts)")
        return None

    async def _backoff(self, index: int, attempt: int, fault: _Transient, run: _Run) -> None:
        """Log the fault and wait before retry ``attempt + 1``."""
        wait = self.retry.wait(attempt, run.rng, fault.retry_after)
        logger.warning(
            "[%s] request %d: %s; retry %d/%d in %.2f s",
            self.model,
            index,
            self._redact(fault.reason),
            attempt + 1,
            self.retry.max_retries,
            wait,
        )
        await _sleep(wait)

    async def _send(self, client: Any, index: int, request: ExecRequest) -> Completion:
        """One attempt; raises :class:`_Transient` for retryable faults, BackendError otherwise."""
        openai = require("openai", "openai")
        try:
            text = await self._create(client, request.prompt)
        except openai.APIStatusError as exc:
            status = int(exc.status_code)
            if status in (408, 409, 429) or status >= 500:
                raise _Transient(
                    f"HTTP {status}", parse_retry_after(exc.response.headers)
                ) from None
            detail = str(exc.message).removeprefix(f"Error code: {status} - ")
            raise self._error(index, f"HTTP {status}: {detail[:200]}") from None
        except openai.APITimeoutError:
            raise _Transient(f"timed out after {self.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise _Transient(f"connection error ({type(exc.__cause__ or exc).__name__})") from None
        except openai.APIError as exc:  # anything else the SDK reports about a response
            raise _Transient(f"API error ({type(exc).__name__})") from None
        return parse_completion(redact_known(text), self.flavour)  # a server may echo the key

    async def _create(self, client: Any, prompt: str) -> str:
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


def parse_completion(text: str, flavour: str) -> Completion:
    """Parse a response body; raises :class:`_Transient` naming what is malformed."""
    try:
        body = json.loads(text)
    except ValueError:
        raise _Transient(f"malformed response: invalid JSON (body starts {text[:60]!r})") from None
    if not isinstance(body, dict):
        raise _Transient(f"malformed response: expected a JSON object, got {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = body.get("error")
        detail = f" (error: {str(error)[:120]})" if error else ""
        raise _Transient(f"malformed response: missing 'choices'{detail}")
    first = choices[0]
    message = first.get("message") if flavour == "chat" else None
    content = message.get("content") if isinstance(message, dict) else first.get("text")
    if not isinstance(content, str):
        raise _Transient("malformed response: choices[0] has no text content")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return Completion(
        content, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    )
