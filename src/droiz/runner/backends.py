"""The run's LLM back ends from its settings: :mod:`droiz.llm.backends` given the fields of a
:class:`~droiz.runner.settings.config.RunConfig`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from droiz._imports import require
from droiz.exceptions import ConfigError
from droiz.llm.backends import (
    Backends,
    build_executor,
    check_executor,
    check_generator,
    check_prices,
    executor_options,
)
from droiz.llm.backends import build_backends as build_llm_backends
from droiz.llm.checks import check_model_name, hub_asked_last
from droiz.llm.factory import spec_class
from droiz.runner.inputs import RunObjects
from droiz.runner.settings.config import RunConfig
from droiz.surrogate.build import KERNELS

__all__ = ["Backends", "build_backends", "check_backends", "check_reachable", "pool_candidates"]


def _needs_embedder(config: RunConfig) -> bool:
    return "embeddings" in KERNELS.get(str(config.kernel)).needs


def check_backends(config: RunConfig, objects: RunObjects | None = None) -> None:
    """The local checks of a run's back ends, before anything is loaded or probed: option names,
    types and devices, the endpoint settings and answer limit against the executor's class, pool
    files, and model names (local paths, the Hugging Face cache, or the hub, asked last), and the
    prices ``--max-cost`` needs. A back end given as an object (``objects``, for the
    ``python:NAME`` settings) takes no options and no endpoint."""
    with hub_asked_last():
        _check_backends(config, objects or RunObjects())


def _check_backends(config: RunConfig, objects: RunObjects) -> None:
    objects.check(config)
    executor, generator = config.executor or "", config.generator or ""
    if config.max_cost is not None:
        specs = [("executor", executor, config.executor_options)]
        check_prices([*specs, ("generator", generator, config.generator_options)], config.prices)
    if objects.executor is None:
        check_executor(executor, config.executor_options)
    else:
        _no_options("executor", config.executor_options)
    executor_options(  # the endpoint settings and the answer limit fit the executor's class
        executor,
        options=config.executor_options if objects.executor is None else None,
        base_url=config.base_url,
        cache_namespace=config.cache_namespace,
        max_answer_tokens=config.max_answer_tokens,
    )
    if objects.generator is None:
        check_generator(generator, config.generator_options)
    else:
        _no_options("generator", config.generator_options)
    if _needs_embedder(config):
        if config.embedder:  # before the (slow) import of sentence-transformers
            check_model_name("--embedder", config.embedder)
        require("sentence_transformers", "semantic")


def check_reachable(config: RunConfig, objects: RunObjects | None = None) -> None:
    """Build an HTTP executor once, as :func:`build_backends` will but without a cache: its API
    key is looked up and its endpoint probed (a connection, no request), so that a run which
    cannot reach it stops before the slow part of its start (an embedder, a pool's features)."""
    objects = objects or RunObjects()
    spec = config.executor or ""
    if objects.executor is not None or not spec_class(spec, "executor")[0].capabilities.http:
        return
    build_executor(
        spec,
        cache=None,
        options=config.executor_options,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        cache_namespace=config.cache_namespace,
        concurrency=config.concurrency,
        max_answer_tokens=config.max_answer_tokens,
        prices=config.prices,
    )


def _no_options(role: str, options: Mapping[str, object]) -> None:
    if options:
        raise ConfigError(
            f"{role}_options {sorted(options)} apply to a {role} built from a spec; the {role} "
            "given as a Python object is used as it is"
        )


def pool_candidates(
    config: RunConfig, objects: RunObjects | None = None
) -> list[list[float]] | None:
    """The candidates' features of a run whose generator is a finite pool (a class with
    ``candidate_features``, as ``pool:FILE``): the search runs over the candidates themselves;
    ``None`` for other generators and a generator given as an object. Embeds the pool when its
    file gives no features."""
    if objects is not None and objects.generator is not None:
        return None
    cls, value = spec_class(config.generator or "", "generator")
    features = getattr(cls, "candidate_features", None)
    if features is None:
        return None
    if config.embedder:  # before the (slow) import of sentence-transformers
        check_model_name("--embedder", config.embedder)
    dim = config.pool_dim or config.dim
    found: list[list[float]] | None = features(
        value, dim=dim, seed=config.seed, embedder=config.embedder
    )
    return found


def build_backends(
    config: RunConfig,
    objects: RunObjects | None = None,
    candidates: Sequence[Sequence[float]] | None = None,
) -> Backends:
    """Cache, (cached) generator, (cached) executor and, for a kernel that needs embeddings, the
    embedder; one budget with the run's caps is shared by the HTTP back ends. The objects of
    ``python:NAME`` settings are used as they are (cached too). ``candidates``: the engine's
    scaled candidate features of a pool searched as candidates."""
    objects = objects or RunObjects()
    return build_llm_backends(
        executor=config.executor or "" if objects.executor is None else objects.executor,
        generator=config.generator or "" if objects.generator is None else objects.generator,
        executor_options=config.executor_options,
        generator_options=config.generator_options,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        cache_dir=config.cache_dir,
        cache_namespace=config.cache_namespace,
        concurrency=config.concurrency,
        max_answer_tokens=config.max_answer_tokens,
        prices=config.prices,
        limits=config.limits(),
        dim=config.dim,
        seed=config.seed,
        embedder=config.embedder,
        with_embedder=_needs_embedder(config),
        generator_features=candidates,
    )
