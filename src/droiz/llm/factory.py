"""Build generators and executors from spec strings (``hf:PATH``, ``api:MODEL``, ...).

The registries map a spec's KIND to a function returning the class, so that a back end's library
is imported only when it is used. A plugin registers its own class with :func:`register_executor`
or :func:`register_generator`; what the class is (HTTP or in process, its answer-length option,
...) it declares itself (:class:`~droiz.llm.base.Capabilities`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

from droiz.exceptions import ConfigError
from droiz.llm.base import Backend, Executor, Generator
from droiz.llm.cache import ResponseCache
from droiz.llm.cached import CachedExecutor, CachedGenerator
from droiz.llm.checks import constructor_options
from droiz.registry import Registry

GENERATORS: Registry[Callable[[], type[Generator]]] = Registry("generator")
EXECUTORS: Registry[Callable[[], type[Executor]]] = Registry("executor")
C = TypeVar("C", bound=type)
B = TypeVar("B", bound=Backend)

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


def _python_executor() -> type[Executor]:
    from droiz.llm.callables import CallableExecutor

    return CallableExecutor


def _python_generator() -> type[Generator]:
    from droiz.llm.callables import PythonGenerator

    return PythonGenerator


GENERATORS.add("hf", _hf_generator)
GENERATORS.add("api", _api_generator)
GENERATORS.add("pool", _pool_generator)
EXECUTORS.add("openai", _openai_executor)
EXECUTORS.add("hf", _hf_executor)
GENERATORS.add("python", _python_generator)  # objects passed to droiz.optimize (llm.callables)
EXECUTORS.add("python", _python_executor)


def register_executor(kind: str) -> Callable[[C], C]:
    """Class decorator: specs ``KIND:VALUE`` build the class (``cls(VALUE, **options)``)."""

    def deco(cls: C) -> C:
        EXECUTORS.add(kind, lambda: cls)
        return cls

    return deco


def register_generator(kind: str) -> Callable[[C], C]:
    """Class decorator: specs ``KIND:VALUE`` build the class (``cls(VALUE, **options)``)."""

    def deco(cls: C) -> C:
        GENERATORS.add(kind, lambda: cls)
        return cls

    return deco


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


@overload
def spec_class(spec: str, role: Literal["generator"]) -> tuple[type[Generator], str]: ...
@overload
def spec_class(spec: str, role: Literal["executor"]) -> tuple[type[Executor], str]: ...
@overload
def spec_class(spec: str, role: str) -> tuple[type[Backend], str]: ...
def spec_class(spec: str, role: str) -> tuple[type[Backend], str]:
    """The class a spec builds and the spec's value (see :func:`parse_spec`)."""
    kind, value = parse_spec(spec, role)
    if role == "generator":
        return GENERATORS.get(kind)(), value
    return EXECUTORS.get(kind)(), value


def _construct(cls: type[B], role: str, kind: str, value: str, options: dict[str, Any]) -> B:
    names, takes_any = constructor_options(cls)
    unknown = sorted(k for k in options if k not in names and not takes_any)
    if unknown:
        accepted = ", ".join(sorted(names))
        raise ConfigError(
            f"{role} {kind!r} does not take option(s) {', '.join(unknown)}; it takes: {accepted}"
        )
    build: Callable[..., B] = cls  # each class declares its own constructor options
    return build(value, **options)


def make_generator(spec: str, *, cache: ResponseCache | None = None, **options: Any) -> Generator:
    """A generator from a spec: ``hf:PATH`` (soft prompt), ``api:MODEL`` (APE-style proposer)
    or ``pool:FILE`` (fixed candidates).

    Args:
        spec: The spec string.
        cache: When given, generated instructions are cached (a :class:`CachedGenerator`), and
            an HTTP generator (``api``) also caches its responses there.
        **options: Constructor options of the generator class.
    """
    kind, value = parse_spec(spec, "generator")
    cls = GENERATORS.get(kind)()
    if cls.capabilities.http and cache is not None:
        options = {**options, "cache": cache}
    generator = _construct(cls, "generator", kind, value, options)
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
