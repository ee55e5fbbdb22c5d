"""Build the LLM side of a run from plain settings: checks, the executor, the generator, the cache.

What each back end needs is declared by its class (:class:`~droiz.llm.base.Capabilities`): an HTTP
back end gets the endpoint, the name of the API key's environment variable and the run's shared
:class:`~droiz.llm.budget.Budget`; a priced one gets the price table; the answer-length limit goes
to the option its class names. API keys are never handled here: only the *name* of the
environment variable is passed on, and the back end reads the key itself when it builds a client.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from droiz._imports import require
from droiz.exceptions import ConfigError
from droiz.llm.base import Executor, Generator
from droiz.llm.budget import Budget, Limits
from droiz.llm.cache import ResponseCache
from droiz.llm.cached import CachedExecutor, CachedGenerator
from droiz.llm.checks import check_backend_options
from droiz.llm.embed import SentenceEmbedder
from droiz.llm.endpoint import parse_base_url
from droiz.llm.factory import EXECUTORS, make_executor, make_generator, spec_class
from droiz.llm.retry import RetryPolicy
from droiz.llm.stats import Pricing, find_pricing

ENDPOINT_TIMEOUT = 5.0
"""Seconds :func:`check_endpoint` waits for a connection."""


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
        ``generator_cache_hits`` and ``generator_requests`` (calls of a generator that sends
        requests through an executor of its own, ``api:``)."""
        out = self.executor.stats.snapshot().as_dict()
        gen = getattr(self.generator, "stats", None)
        if gen is not None:
            snap = gen.snapshot()
            out["generated"], out["generator_cache_hits"] = snap.requests, snap.cache_hits
        inner = getattr(getattr(self.generator, "inner", None), "executor", None)
        if inner is not None:
            out["generator_requests"] = inner.stats.snapshot().requests
        return out | self.budget.usage()


def check_executor(spec: str, options: Mapping[str, Any]) -> None:
    """The executor's spec and options, before anything is loaded: option names and types,
    devices, and what the class checks of the spec's value (a model name)."""
    cls, value = spec_class(spec, "executor")
    check_backend_options("executor_options", cls, options)
    cls.check_value(value, "--executor")


def check_generator(spec: str, options: Mapping[str, Any]) -> None:
    """The generator's spec and options (see :func:`check_executor`; a pool file, a model)."""
    cls, value = spec_class(spec, "generator")
    check_backend_options("generator_options", cls, options)
    cls.check_value(value, "--generator")


def check_prices(
    backends: Iterable[tuple[str, str, Mapping[str, Any]]], prices: Mapping[str, Any]
) -> None:
    """Every priced back end's model has a price (what ``--max-cost`` needs).

    Args:
        backends: ``(role, spec, options)`` of the executor and the generator.
        prices: The run's price table, which the options' own ``prices`` extend.
    """
    for role, spec, options in backends:
        cls, model = spec_class(spec, role)
        if not cls.capabilities.priced:
            continue
        if find_pricing(model, with_prices(options, prices).get("prices")) is None:
            raise ConfigError(
                f"--max-cost needs the price of the model {model!r}, which droiz does not know: "
                f'add it to the config file as [prices] "{model}" = [INPUT, OUTPUT] (USD per 1M '
                "input and output tokens), or drop --max-cost"
            )


def with_prices(options: Mapping[str, Any], prices: Mapping[str, Any] | None) -> dict[str, Any]:
    """``options`` with the price table ``prices`` under the options' own ``prices``."""
    out = dict(options)
    if prices and not isinstance(out.get("prices"), Pricing):
        out["prices"] = {**prices, **(out.get("prices") or {})}
    return out


def executor_options(
    spec: str,
    *,
    options: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    cache_namespace: str | None = None,
    concurrency: int | None = None,
    max_answer_tokens: int | None = None,
    prices: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """The constructor options of the executor ``spec`` (see :func:`build_executor`); probes
    nothing."""
    cls, _ = spec_class(spec, "executor")
    caps = cls.capabilities
    opts = with_retry(options or {})
    if max_answer_tokens is not None:
        if caps.token_option is None:
            raise ConfigError(f"--max-answer-tokens: the executor {spec!r} has no answer limit")
        opts[caps.token_option] = int(max_answer_tokens)
    if caps.priced:
        opts = with_prices(opts, prices)
    if not caps.http:
        if base_url or cache_namespace:
            raise ConfigError(
                f"--base-url and --cache-namespace apply to {_http_kinds()} executors, not {spec!r}"
            )
        return opts
    if budget is not None:
        opts["budget"] = budget
    opts = {"base_url": base_url, "api_key_env": api_key_env, **opts}
    if cache_namespace:
        opts["cache_namespace"] = cache_namespace
    if concurrency:
        opts["concurrency"] = concurrency
    return opts


def build_executor(
    spec: str,
    *,
    cache: ResponseCache | None,
    options: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    cache_namespace: str | None = None,
    concurrency: int | None = None,
    max_answer_tokens: int | None = None,
    prices: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
    probe: bool = True,
) -> Executor:
    """An executor from its spec, cached in ``cache`` when given.

    The endpoint settings (``base_url``, ``api_key_env``, ``cache_namespace``, ``concurrency``)
    and ``budget`` go to an HTTP executor only (a ``base_url`` is probed first, see
    :func:`check_endpoint`, unless ``probe`` is false); ``prices`` (extended by the options'
    own) to a priced one.
    ``max_answer_tokens`` sets the executor's answer-length option (``max_tokens`` of
    ``openai:``, ``max_new_tokens`` of ``hf:``); ``None``: the executor's default or what
    ``options`` say.
    """
    opts = executor_options(
        spec,
        options=options,
        base_url=base_url,
        api_key_env=api_key_env,
        cache_namespace=cache_namespace,
        concurrency=concurrency,
        max_answer_tokens=max_answer_tokens,
        prices=prices,
        budget=budget,
    )
    if base_url and probe:
        check_endpoint(base_url)
    return make_executor(spec, cache=cache, **opts)


def executor_fingerprint(spec: str, **settings: Any) -> str | None:
    """The fingerprint (part of the cache keys) of the executor that :func:`build_executor` builds
    from the same settings, without a model or a request: only an HTTP executor is cheap to build
    just for this. ``None`` for others, at a temperature above 0 (answers are cached only under a
    sample index) or when it cannot be built here (no API key, say)."""
    cls, _ = spec_class(spec, "executor")
    if not cls.capabilities.http:
        return None
    try:
        executor = make_executor(spec, **executor_options(spec, **settings))
    except Exception:
        return None
    return None if executor.temperature > 0 else executor.fingerprint


def build_generator(
    spec: str,
    *,
    cache: ResponseCache | None,
    options: Mapping[str, Any] | None = None,
    dim: int | None = None,
    seed: int | None = None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    prices: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
    features: Sequence[Sequence[float]] | None = None,
) -> Generator:
    """A generator from its spec, cached in ``cache`` when given, with ``dim`` and ``seed``
    unless ``options`` say otherwise. An HTTP generator also gets the endpoint and ``budget`` (a
    ``base_url`` is probed first), a priced one ``prices``; a pool searched as candidates its
    candidates' scaled ``features`` (``N x d``, which set ``dim``)."""
    cls, _ = spec_class(spec, "generator")
    if features is not None:
        dim = len(features[0])
    opts: dict[str, Any] = {k: v for k, v in (("dim", dim), ("seed", seed)) if v is not None}
    if features is not None:
        opts["features"] = features
    if cls.capabilities.http:
        opts.update(base_url=base_url, api_key_env=api_key_env)
        if budget is not None:
            opts["budget"] = budget
        if base_url:
            check_endpoint(base_url)
    own = with_prices(options or {}, prices) if cls.capabilities.priced else dict(options or {})
    opts.update(with_retry(own))
    return make_generator(spec, cache=cache, **opts)


def build_backends(
    *,
    executor: str | Executor,
    generator: str | Generator | None,
    executor_options: Mapping[str, Any] | None = None,
    generator_options: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    cache_dir: str | os.PathLike[str] | None = None,
    cache_namespace: str | None = None,
    concurrency: int | None = None,
    max_answer_tokens: int | None = None,
    prices: Mapping[str, Any] | None = None,
    limits: Limits | None = None,
    dim: int | None = None,
    seed: int | None = None,
    embedder: str | None = None,
    with_embedder: bool = False,
    generator_features: Sequence[Sequence[float]] | None = None,
) -> Backends:
    """The response cache (in ``cache_dir``), the cached executor and generator (``None``
    without a spec) and, ``with_embedder``, the sentence embedder ``embedder`` (``None``: the
    default model). One :class:`~droiz.llm.budget.Budget` with ``limits`` is shared by the HTTP
    back ends, so the caps count every HTTP request of the run. With ``limits.max_cost`` every
    priced back end needs a price (:func:`check_prices`). An executor or generator given as an
    object (not a spec) is only wrapped in the cache. ``generator_features``: a pool's candidate
    features, when the run searches its candidates (:func:`build_generator`)."""
    specs = []
    if isinstance(executor, str):
        specs.append(("executor", executor, executor_options or {}))
    if isinstance(generator, str):
        specs.append(("generator", generator, generator_options or {}))
    if limits is not None and limits.max_cost is not None:
        check_prices(specs, prices or {})
    budget = Budget(limits or Limits())
    cache = ResponseCache(cache_dir)
    try:
        built_executor: Executor
        if not isinstance(executor, str):
            built_executor = CachedExecutor(executor, cache)
        else:
            built_executor = build_executor(
                executor,
                cache=cache,
                options=executor_options,
                base_url=base_url,
                api_key_env=api_key_env,
                cache_namespace=cache_namespace,
                concurrency=concurrency,
                max_answer_tokens=max_answer_tokens,
                prices=prices,
                budget=budget,
            )
        built_generator: Generator | None = None
        if isinstance(generator, Generator):
            built_generator = CachedGenerator(generator, cache)
        elif generator is not None:
            built_generator = build_generator(
                generator,
                cache=cache,
                options=generator_options,
                dim=dim,
                seed=seed,
                base_url=base_url,
                api_key_env=api_key_env,
                prices=prices,
                budget=budget,
                features=generator_features,
            )
        built_embedder = None
        if with_embedder:
            require("sentence_transformers", "semantic")  # fail before anything is paid for
            built_embedder = SentenceEmbedder(embedder)
    except BaseException:
        cache.close()
        raise
    return Backends(cache, built_generator, built_executor, built_embedder, budget)


def with_retry(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with a ``retry`` table turned into a :class:`RetryPolicy`."""
    out = dict(options)
    retry = out.get("retry")
    if isinstance(retry, Mapping):
        try:
            out["retry"] = RetryPolicy(**retry)
        except TypeError as exc:
            raise ConfigError(f"bad retry settings {dict(retry)}: {exc}") from None
    return out


def check_endpoint(base_url: str, timeout: float = ENDPOINT_TIMEOUT) -> None:
    """Fail fast, in one line, when the URL is malformed (:func:`parse_base_url`) or nothing
    listens at the endpoint's host and port."""
    endpoint = parse_base_url(base_url)
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot reach the endpoint {endpoint.shown} ({reason}); start the server "
            "or fix --base-url"
        ) from None


def _http_kinds() -> str:
    """``"openai:"``: the executor kinds that take an endpoint, for messages."""
    kinds = [f"{k}:" for k in EXECUTORS.names() if EXECUTORS.get(k)().capabilities.http]
    return ", ".join(kinds) or "HTTP"
