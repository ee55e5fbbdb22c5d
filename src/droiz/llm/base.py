"""The two LLM roles: a :class:`Generator` writes instructions, an :class:`Executor` runs them.

Both are small classes with one abstract method and a ``fingerprint``: a string that identifies
everything that determines their output (model identity, seeds, templates, generation parameters,
never secrets or URLs). Fingerprints are part of every cache key.

Each class also declares what it is, for the code that checks, builds and plans a run: its
:class:`Capabilities` (``capabilities`` class attribute) and a few class methods
(:meth:`Executor.check_value`, :meth:`Generator.candidates`, :meth:`Generator.plan_requests`).
Nothing outside a class branches on the name it is registered under.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from droiz.exceptions import ConfigError, ShapeError
from droiz.llm.prompts import DEFAULT_TEMPLATE, Demo, render_prompt
from droiz.llm.stats import LLMStats


@dataclass(frozen=True)
class ExecRequest:
    """One execution: an instruction applied to one example input through a template.

    Args:
        instruction: The instruction under evaluation (fills ``[PROMPT]``).
        input: The example input (fills ``[INPUT]``).
        template: The execution template; per request, so the "format" shift group can swap it.
        sample: Sample index for sampled decoding (temperature > 0). Sampled answers are cached
            only under a sample index; at temperature 0 it is ignored.
    """

    instruction: str
    input: str = ""
    template: str = DEFAULT_TEMPLATE
    sample: int | None = None

    @property
    def prompt(self) -> str:
        """The text sent to the model."""
        return render_prompt(self.template, self.instruction, self.input)

    @classmethod
    def raw(cls, prompt: str, sample: int | None = None) -> ExecRequest:
        """A request whose prompt is ``prompt`` verbatim."""
        return cls(instruction=prompt, input="", template="[PROMPT]", sample=sample)


@dataclass(frozen=True)
class Completion:
    """One answer with the token usage the backend reported (0 when it reported none).

    ``cached`` is set by :class:`~droiz.llm.cached.CachedExecutor` on an answer that was not
    sent: served from the response cache, or by an identical request earlier in the batch.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


OnResult = Callable[[int, Completion], object]
"""Callback ``on_result(index, completion)``, called as soon as each answer arrives (what it
returns is ignored)."""


def as_requests(items: Sequence[ExecRequest | str]) -> list[ExecRequest]:
    """Normalise a mix of requests and raw prompt strings to :class:`ExecRequest`."""
    return [it if isinstance(it, ExecRequest) else ExecRequest.raw(str(it)) for it in items]


def make_fingerprint(kind: str, name: str, params: Mapping[str, Any]) -> str:
    """``"kind:name#hash"`` where the hash covers kind, name and the sorted-key JSON of params."""
    blob = json.dumps({"kind": kind, "name": name, "params": params}, sort_keys=True, default=str)
    return f"{kind}:{name}#{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Capabilities:
    """What a generator or executor class is. The defaults describe an in-process back end that
    costs nothing and limits its answers with ``max_tokens``.

    Attributes:
        http: It sends requests to an OpenAI-compatible endpoint. Its constructor then takes
            ``base_url``, ``api_key_env`` and ``budget`` (the run's caps, which count each of its
            HTTP attempts); an executor also takes ``cache_namespace`` and ``concurrency``, a
            generator also ``cache`` (the run's response cache, so that paid answers are kept).
            Building one sends nothing, so a run plan may build an executor just to read its
            fingerprint.
        priced: Its requests cost money: it takes ``prices`` (USD per 1M tokens by model name),
            and ``--max-cost`` needs the price of the spec's model.
        token_option: The constructor option that limits each answer's length in tokens
            (``max_tokens``, ``max_new_tokens``); its default is the constructor's default
            (:func:`token_limit`). An executor's is what ``--max-answer-tokens`` sets; the run
            plan bounds tokens by it. ``None``: the class writes no text of its own (a pool of
            known candidates).
    """

    http: bool = False
    priced: bool = False
    token_option: str | None = "max_tokens"


class RequestBound(NamedTuple):
    """Upper bounds of what a generator sends: requests (first attempts) and their tokens."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def option_default(cls: type[Backend], name: str) -> Any:
    """The default of the constructor option ``name`` of ``cls``; :class:`ConfigError` when the
    constructor has no such option or no default for it."""
    param = inspect.signature(cls.__init__).parameters.get(name)
    if param is None or param.default is inspect.Parameter.empty:
        raise ConfigError(
            f"{cls.__name__} declares the option {name!r}, but its constructor has no such "
            "option with a default; add one"
        )
    return param.default


def token_limit(cls: type[Backend], options: Mapping[str, Any]) -> int | None:
    """The answer-length limit (tokens) of ``cls`` built with ``options``: the option its
    capabilities name, else that option's default; ``None`` when it names none."""
    name = cls.capabilities.token_option
    if name is None:
        return None
    return int(options[name] if name in options else option_default(cls, name))


def check_z(z: Tensor, dim: int | None = None) -> Tensor:
    """Validate soft prompts and return them as an ``n x d`` float64 CPU tensor.

    Args:
        z: ``n x d`` (or a single ``d`` vector) soft prompts.
        dim: The expected ``d``, if fixed.
    """
    z = torch.as_tensor(z).detach().to("cpu", torch.float64)
    if z.ndim == 1:
        z = z.unsqueeze(0)
    if z.ndim != 2 or (dim is not None and z.shape[-1] != dim):
        want = f"n x {dim}" if dim is not None else "n x d"
        raise ShapeError(f"z must be a `{want}` tensor, got shape {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        raise ShapeError("z must be finite, got NaN or inf entries")
    return z


class Backend:
    """What generators and executors declare about themselves, for the code that checks, builds
    and plans a run (see the module docstring)."""

    capabilities: ClassVar[Capabilities] = Capabilities()
    """What the class is (see :class:`Capabilities`)."""

    @classmethod
    def check_value(cls, value: str, flag: str) -> None:
        """Check the value of a spec ``KIND:VALUE`` before anything is loaded (that a model or
        file exists); raise a one-line :class:`ConfigError` naming ``flag``. Checks nothing by
        default."""


class Generator(Backend, ABC):
    """Maps soft prompts ``z`` to instruction texts, deterministically for a given ``z``.

    Subclasses implement :meth:`generate` and :attr:`fingerprint`.
    """

    dim: int | None = None
    """The soft-prompt dimension ``d`` the generator expects (``None``: any)."""

    @classmethod
    def candidates(cls, value: str) -> list[str] | None:
        """The instructions a generator built from the spec value ``value`` can write, when they
        are known before it runs (the run plan counts their cached answers); ``None`` (the
        default): not known."""
        return None

    @classmethod
    def plan_requests(
        cls, n: int, demos: Sequence[Demo], options: Mapping[str, Any]
    ) -> RequestBound:
        """Upper bounds of the requests and tokens that writing ``n`` instructions from ``demos``
        sends, for a generator built with ``options``. None by default (an in-process generator);
        an HTTP generator overrides this."""
        return RequestBound()

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies everything that determines the output (used in cache keys)."""

    @abstractmethod
    def generate(self, z: Tensor, demos: Sequence[Demo]) -> list[str]:
        """Write one instruction per row of ``z``.

        Args:
            z: ``n x d`` soft prompts (float64 in ``[-1, 1]`` by convention).
            demos: The task demonstrations ``(input, output)`` shown to the instruction writer.

        Returns:
            ``n`` instructions, in the order of the rows of ``z``.
        """


class Executor(Backend, ABC):
    """Runs prompts on an LLM and returns the answers in order.

    Subclasses implement :meth:`complete` and :attr:`fingerprint` and set ``model`` and ``stats``.
    """

    model: str
    stats: LLMStats
    temperature: float = 0.0

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies model, endpoint namespace and generation parameters (used in cache keys)."""

    @abstractmethod
    def complete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        """Answer every request; ``on_result`` sees each answer as soon as it arrives.

        Raises:
            BackendError: A request failed for good; answers already passed to ``on_result``
                are not lost.
        """

    def execute(self, requests: Sequence[ExecRequest | str]) -> list[str]:
        """Answer every request (an :class:`ExecRequest` or a raw prompt string), in order."""
        return [c.text for c in self.complete(as_requests(requests))]
