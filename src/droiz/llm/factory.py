"""Build generators and executors from spec strings (``hf:PATH``, ``api:MODEL``, ...)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from droiz.exceptions import ConfigError
from droiz.llm.base import Executor, Generator
from droiz.llm.cache import ResponseCache
from droiz.llm.cached import CachedExecutor, CachedGenerator
from droiz.registry import Registry

GENERATORS: Registry[Callable[[], type[Generator]]] = Registry("generator")
EXECUTORS: Registry[Callable[[], type[Executor]]] = Registry("executor")

_EXAMPLES = {
    "generator": "hf:lmsys/vicuna-13b-v1.3, api:gpt-4o-mini or pool:candidates.txt",
    "executor": "openai:gpt-4o-mini or hf:Qwen/Qwen2.5-0.5B-Instruct",
}


def _hf_generator() -> type[Generator]:
    from droiz.llm.hf_generator import HFSoftPromptGenerator

    return HFSoftPromptGenerator


def _api_generator() -> type[Generator]:
    from droiz.llm.api_proposer import APIProposer

    return APIProposer


def _pool_generator() -> type[Generator]:
    from droiz.llm.pool import PoolGenerator

    return PoolGenerator


def _openai_executor() -> type[Executor]:
    from droiz.llm.openai_executor import OpenAIExecutor

    return OpenAIExecutor


def _hf_executor() -> type[Executor]:
    from droiz.llm.hf_executor import HFExecutor

    return HFExecutor


GENERATORS.add("hf", _hf_generator)
GENERATORS.add("api", _api_generator)
GENERATORS.add("pool", _pool_generator)
EXECUTORS.add("openai", _openai_executor)
EXECUTORS.add("hf", _hf_executor)


def parse_spec(spec: str, role: str) -> tuple[str, str]:
    """Split ``"KIND:VALUE"`` at the first colon; one-line :class:`ConfigError` when malformed."""
    registry = GENERATORS if role == "generator" else EXECUTORS
    kind, sep, value = str(spec).partition(":")
    kinds = ", ".join(registry.names())
    if not sep or not kind.strip():
        raise ConfigError(
            f"bad {role} spec {spec!r}: expected KIND:VALUE with KIND one of {kinds} "
            f"(e.g. {_EXAMPLES[role]})"
        )
    if not value.strip():
        raise ConfigError(
            f"bad {role} spec {spec!r}: nothing after '{kind}:' (e.g. {_EXAMPLES[role]})"
        )
    registry.get(kind.strip())  # unknown kind: UnknownNameError with "did you mean"
    return kind.strip(), value.strip()


def _construct(cls: type, role: str, kind: str, value: str, options: dict[str, Any]) -> Any:
    params = inspect.signature(cls.__init__).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    accepted_names = set(params)
    if takes_kwargs and hasattr(cls, "extra_option_names"):
        accepted_names |= cls.extra_option_names()
        takes_kwargs = False
    unknown = sorted(k for k in options if k not in accepted_names and not takes_kwargs)
    if unknown:
        skip = {"self", "model", "pool", "executor_options"}
        accepted = ", ".join(sorted(accepted_names - skip))
        raise ConfigError(
            f"{role} {kind!r} does not take option(s) {', '.join(unknown)}; it takes: {accepted}"
        )
    return cls(value, **options)


def make_generator(spec: str, *, cache: ResponseCache | None = None, **options: Any) -> Generator:
    """A generator from a spec: ``hf:PATH`` (soft prompt), ``api:MODEL`` (APE-style proposer)
    or ``pool:FILE`` (fixed candidates).

    Args:
        spec: The spec string.
        cache: When given, generated instructions are cached (a :class:`CachedGenerator`), and
            an ``api`` proposer also caches its responses there.
        **options: Constructor options of the generator class.
    """
    kind, value = parse_spec(spec, "generator")
    if kind == "api" and cache is not None:
        options = {**options, "cache": cache}
    generator = _construct(GENERATORS.get(kind)(), "generator", kind, value, options)
    return CachedGenerator(generator, cache) if cache is not None else generator


def make_executor(spec: str, *, cache: ResponseCache | None = None, **options: Any) -> Executor:
    """An executor from a spec: ``openai:MODEL`` (any OpenAI-compatible endpoint; pass
    ``base_url=``) or ``hf:PATH`` (local model).

    Args:
        spec: The spec string.
        cache: When given, answers are cached (a :class:`CachedExecutor`).
        **options: Constructor options of the executor class.
    """
    kind, value = parse_spec(spec, "executor")
    executor = _construct(EXECUTORS.get(kind)(), "executor", kind, value, options)
    return CachedExecutor(executor, cache) if cache is not None else executor
