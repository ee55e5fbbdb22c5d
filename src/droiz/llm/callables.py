"""Python objects as back ends: a plain function as the executor, and the ``python:NAME`` specs
that stand for objects in a run's settings.

:func:`droiz.optimize` takes an executor or a generator as a spec string (``openai:MODEL``,
``hf:PATH``, ...) or as a Python object: an :class:`~droiz.llm.base.Executor` or
:class:`~droiz.llm.base.Generator` of your own, or a plain callable ``list[str] -> list[str]``
(prompts to answers), which :class:`CallableExecutor` wraps. A run's settings (``config.json``)
name such an object ``python:NAME``; nothing can rebuild it from that name, so a run made with
one resumes from Python, given the same object again, and ``droiz resume`` refuses it in one line.

The NAME of a callable (:func:`callable_name`) identifies it in the fingerprints and so in the
response cache: ``name=``, else its ``name`` attribute, else its qualified name
(``module.function``). Two different callables must not share a name, or the cache serves one's
answers to the other; a lambda has no usable qualified name and needs ``name=``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor

from droiz.exceptions import BackendError, ConfigError
from droiz.llm.base import (
    Capabilities,
    Completion,
    ExecRequest,
    Executor,
    Generator,
    OnResult,
    make_fingerprint,
)
from droiz.llm.prompts import Demo
from droiz.llm.stats import LLMStats

PYTHON = "python"
"""The spec kind of a Python object (``python:NAME``)."""

ExecutorFn = Callable[[list[str]], list[str]]
"""A plain executor: the prompts of a batch in, one answer per prompt out, in order."""

__all__ = [
    "PYTHON",
    "CallableExecutor",
    "ExecutorFn",
    "PythonGenerator",
    "callable_executor",
    "callable_name",
    "object_name",
    "python_spec",
]


def callable_name(fn: Callable[..., Any], name: str | None = None, role: str = "executor") -> str:
    """The name of a callable ``role`` (``executor``, ``metric``): ``name``, else its ``name``
    attribute (a string), else its qualified name ``module.qualname``.

    Raises:
        ConfigError: A lambda without a name, or a blank name.
    """
    own = getattr(fn, "name", None)
    if name is None and isinstance(own, str):
        name = own
    if name is None:
        qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        if "<lambda>" in qualname:
            raise ConfigError(
                f"a lambda as the {role} needs a name, which identifies its answers in the "
                f"response cache: pass droiz.callable_{role}(fn, name='my-{role}')"
            )
        module = getattr(fn, "__module__", None) or type(fn).__module__
        name = f"{module}.{qualname}"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"the name of the {role} must be a non-empty string, got {name!r}")
    return name.strip()


def object_name(obj: object) -> str:
    """The name of an executor or generator object: its ``name`` attribute (a string), else its
    class's qualified name."""
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name.strip():
        return name.strip()
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def python_spec(name: str) -> str:
    """The setting that names a Python object: ``python:NAME``."""
    return f"{PYTHON}:{name}"


def python_only(flag: str, value: str) -> str:
    """Why the spec ``python:VALUE`` cannot be built (the one line of :class:`ConfigError`)."""
    role = flag.lstrip("-")
    return (
        f"{flag} {PYTHON}:{value} is a Python object, which only droiz.optimize({role}=...) can "
        f"pass; a run made with it resumes from Python, with the same object: "
        f"droiz.optimize(out=RUN_DIR, resume=True, {role}=...)"
    )


class CallableExecutor(Executor):
    """A plain function as the executor: ``fn(prompts) -> answers`` for each batch.

    Every batch of a round (what the response cache does not answer) is one call. It runs in
    process: it sends no HTTP request, so the ``--max-*`` caps do not count it; ``requests``
    counts the prompts it answered. Its answers are cached by prompt under its fingerprint
    (``python:NAME``), so the function should be deterministic.

    Args:
        fn: The function.
        name: Its name in fingerprints and the cache (see :func:`callable_name`).
    """

    capabilities = Capabilities(token_option=None)

    @classmethod
    def check_value(cls, value: str, flag: str) -> None:
        """A ``python:NAME`` spec cannot be built: its object must be passed from Python."""
        raise ConfigError(python_only(flag, value))

    def __init__(self, fn: ExecutorFn, *, name: str | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"the executor must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = callable_name(fn, name, "executor")
        self.model = self.name
        self.stats = LLMStats()

    def __repr__(self) -> str:
        return f"CallableExecutor({self.name!r})"

    @property
    def fingerprint(self) -> str:
        return make_fingerprint(PYTHON, self.name, {})

    def complete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        prompts = [r.prompt for r in requests]
        if not prompts:
            return []
        answers = self.fn(prompts)
        if not isinstance(answers, list | tuple):
            raise BackendError(
                f"the executor {self.name} must return a list of answers; it returned a "
                f"{type(answers).__name__}"
            )
        if len(answers) != len(prompts):
            raise BackendError(
                f"the executor {self.name} must return one answer per prompt; it returned "
                f"{len(answers)} answers for {len(prompts)} prompts"
            )
        bad = [type(a).__name__ for a in answers if not isinstance(a, str)]
        if bad:
            raise BackendError(
                f"the executor {self.name} must return strings; it returned a {bad[0]}"
            )
        self.stats.add(requests=len(prompts))
        out = [Completion(str(a)) for a in answers]
        if on_result is not None:
            for i, completion in enumerate(out):
                on_result(i, completion)
        return out


def callable_executor(fn: ExecutorFn, *, name: str | None = None) -> CallableExecutor:
    """A plain function ``prompts -> answers`` as an executor named ``name`` (default: its
    ``name`` attribute or qualified name; a lambda needs one)."""
    return CallableExecutor(fn, name=name)


class PythonGenerator(Generator):
    """What a ``python:NAME`` generator spec stands for: a :class:`Generator` object passed to
    :func:`droiz.optimize`. It cannot be built from the spec (:meth:`check_value` says so)."""

    capabilities = Capabilities(token_option=None)

    @classmethod
    def check_value(cls, value: str, flag: str) -> None:
        raise ConfigError(python_only(flag, value))

    def __init__(self, value: str) -> None:
        raise ConfigError(python_only("--generator", value))

    @property
    def fingerprint(self) -> str:
        raise NotImplementedError

    def generate(self, z: Tensor, demos: Sequence[Demo]) -> list[str]:
        raise NotImplementedError
