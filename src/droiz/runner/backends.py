"""Build the cache, generator, executor and embedder of a run from its settings.

API keys are never handled here: only the *name* of the environment variable is passed on, and
the executor reads the key itself when it builds a client.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from droiz._imports import require
from droiz.exceptions import ConfigError
from droiz.llm import (
    Executor,
    Generator,
    ResponseCache,
    RetryPolicy,
    SentenceEmbedder,
    make_executor,
    make_generator,
    parse_spec,
)
from droiz.llm.budget import Budget
from droiz.llm.pool import load_pool
from droiz.llm.stats import Pricing, find_pricing
from droiz.redact import redact_url
from droiz.runner.checks import check_backend_options, check_model_name
from droiz.runner.settings.config import RunConfig
from droiz.surrogate.build import KERNELS

logger = logging.getLogger(__name__)

_ENDPOINT_TIMEOUT = 5.0
_MAX_TOKENS = {"openai": "max_tokens", "hf": "max_new_tokens"}


@dataclass
class Backends:
    """The LLM-side objects of a run; ``budget`` holds the caps shared by all HTTP clients."""

    cache: ResponseCache
    generator: Generator | None
    executor: Executor
    embedder: SentenceEmbedder | None = None
    budget: Budget = field(default_factory=Budget)

    def close(self) -> None:
        self.cache.close()

    def usage(self) -> dict[str, float]:
        """Usage counters so far: the executor's (``requests``, ``cache_hits``, tokens, ``cost``,
        ...) plus ``generated`` (instructions generated, not served from the cache),
        ``generator_cache_hits`` and ``generator_requests`` (calls of an ``api:`` proposer)."""
        out = self.executor.stats.snapshot().as_dict()
        gen = getattr(self.generator, "stats", None)
        if gen is not None:
            snap = gen.snapshot()
            out["generated"], out["generator_cache_hits"] = snap.requests, snap.cache_hits
        inner = getattr(getattr(self.generator, "inner", None), "executor", None)
        if inner is not None:
            out["generator_requests"] = inner.stats.snapshot().requests
        return out | self.budget.usage()


def check_backends(config: RunConfig, *, with_generator: bool = True) -> None:
    """The local checks of a run's backends, before anything is loaded or probed: option names,
    types and devices, pool files, and model names (local paths, the Hugging Face cache, or the
    hub), and the prices ``--max-cost`` needs."""
    check_prices(config)
    check_executor(config.executor or "", config.executor_options)
    if with_generator:
        check_generator(config.generator or "", config.generator_options)
    if config.kernel == "coupled-semantic":
        if config.embedder:  # before the (slow) import of sentence-transformers
            check_model_name("--embedder", config.embedder)
        require("sentence_transformers", "semantic")


def check_executor(spec: str, options: Mapping[str, Any]) -> None:
    """The executor's spec and options (see :func:`check_backends`)."""
    from droiz.llm.factory import EXECUTORS

    kind, value = parse_spec(spec, "executor")
    check_backend_options("executor_options", EXECUTORS.get(kind)(), options)
    if kind == "hf":
        check_model_name("--executor", value)


def check_generator(spec: str, options: Mapping[str, Any]) -> None:
    """The generator's spec and options (see :func:`check_backends`)."""
    from droiz.llm.factory import GENERATORS

    kind, value = parse_spec(spec, "generator")
    check_backend_options("generator_options", GENERATORS.get(kind)(), options)
    if kind == "pool":
        load_pool(value)
    elif kind == "hf":
        check_model_name("--generator", value)


def build_backends(config: RunConfig, *, with_generator: bool = True) -> Backends:
    """Cache, (cached) generator, (cached) executor and, for the semantic kernel, the embedder.

    One :class:`~droiz.llm.budget.Budget` with the run's caps is shared by the ``openai:``
    executor and an ``api:`` generator, so the caps count every HTTP request of the run.
    """
    check_prices(config)
    budget = Budget(config.limits())
    cache = ResponseCache(config.cache_dir)
    try:
        executor = build_executor(
            config.executor or "",
            cache=cache,
            base_url=config.base_url,
            api_key_env=config.api_key_env,
            cache_namespace=config.cache_namespace,
            concurrency=config.concurrency,
            options=_priced(config, config.executor_options),
            budget=budget,
            max_answer_tokens=config.max_answer_tokens,
        )
        generator = build_generator(config, cache, budget) if with_generator else None
    except BaseException:
        cache.close()
        raise
    embedder = None
    if "embeddings" in KERNELS.get(str(config.kernel)).needs:
        try:
            require("sentence_transformers", "semantic")  # fail before anything is paid for
        except BaseException:
            cache.close()
            raise
        embedder = SentenceEmbedder(config.embedder)
    return Backends(cache, generator, executor, embedder, budget)


def _priced(config: RunConfig, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the config's price table under the options' own ``prices``."""
    out = dict(options)
    if config.prices and not isinstance(out.get("prices"), Pricing):
        out["prices"] = {**config.prices, **(out.get("prices") or {})}
    return out


def check_prices(config: RunConfig) -> None:
    """With ``--max-cost``, every model droiz sends HTTP requests to needs a price."""
    if config.max_cost is None:
        return
    models = []
    kind, model = parse_spec(config.executor or "", "executor")
    if kind == "openai":
        models.append((model, config.executor_options))
    kind, model = parse_spec(config.generator or "", "generator")
    if kind == "api":
        models.append((model, config.generator_options))
    for model, options in models:
        prices = _priced(config, options).get("prices")
        if find_pricing(model, prices) is None:
            raise ConfigError(
                f"--max-cost needs the price of the model {model!r}, which droiz does not know: "
                f'add it to the config file as [prices] "{model}" = [INPUT, OUTPUT] (USD per 1M '
                "input and output tokens), or drop --max-cost"
            )


def build_executor(
    spec: str,
    *,
    cache: ResponseCache | None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    cache_namespace: str | None = None,
    concurrency: int | None = None,
    options: Mapping[str, Any] | None = None,
    max_answer_tokens: int | None = None,
    budget: Budget | None = None,
) -> Executor:
    """An executor from its spec; endpoint settings and the budget apply to ``openai:`` only.

    ``max_answer_tokens`` is the answer length limit under either executor's name for it
    (``max_tokens`` of ``openai:``, ``max_new_tokens`` of ``hf:``); ``None``: the executor's
    default or what ``options`` say.
    """
    kind, _ = parse_spec(spec, "executor")
    opts = _with_retry(options or {})
    if max_answer_tokens is not None:
        opts[_MAX_TOKENS.get(kind, "max_tokens")] = int(max_answer_tokens)
    if kind == "openai":
        if budget is not None:
            opts["budget"] = budget
        if base_url:
            check_endpoint(base_url)
        opts = {"base_url": base_url, "api_key_env": api_key_env, **opts}
        if cache_namespace:
            opts["cache_namespace"] = cache_namespace
        if concurrency:
            opts["concurrency"] = concurrency
    elif base_url or cache_namespace:
        raise ConfigError(
            f"--base-url and --cache-namespace apply to openai: executors, not {spec!r}"
        )
    return make_executor(spec, cache=cache, **opts)


def build_generator(
    config: RunConfig, cache: ResponseCache, budget: Budget | None = None
) -> Generator:
    """The run's generator, cached, with ``dim`` and the run seed unless options say otherwise."""
    spec = config.generator or ""
    kind, _ = parse_spec(spec, "generator")
    opts: dict[str, Any] = {"dim": config.dim, "seed": config.seed}
    if kind == "api":
        opts.update(base_url=config.base_url, api_key_env=config.api_key_env)
        if budget is not None:
            opts["budget"] = budget
        if config.base_url:
            check_endpoint(config.base_url)
    options = _priced(config, config.generator_options) if kind == "api" else {}
    opts.update(_with_retry(config.generator_options | options))
    return make_generator(spec, cache=cache, **opts)


def _with_retry(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with a ``retry`` table turned into a :class:`RetryPolicy`."""
    out = dict(options)
    retry = out.get("retry")
    if isinstance(retry, Mapping):
        try:
            out["retry"] = RetryPolicy(**retry)
        except TypeError as exc:
            raise ConfigError(f"bad retry settings {dict(retry)}: {exc}") from None
    return out


def check_endpoint(base_url: str, timeout: float = _ENDPOINT_TIMEOUT) -> None:
    """Fail fast, in one line, when nothing listens at the endpoint's host and port."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--base-url must be an http(s) URL such as http://127.0.0.1:8000/v1, got "
            f"{redact_url(base_url)!r}"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot reach the endpoint {redact_url(base_url)} ({reason}); start the server "
            "or fix --base-url"
        ) from None
