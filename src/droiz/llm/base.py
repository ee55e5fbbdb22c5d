"""The two LLM roles: a :class:`Generator` writes instructions, an :class:`Executor` runs them.

Both are small classes with one abstract method and a ``fingerprint``: a string that identifies
everything that determines their output (model identity, seeds, templates, generation parameters,
never secrets or URLs). Fingerprints are part of every cache key.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from droiz.exceptions import ShapeError
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


OnResult = Callable[[int, Completion], None]
"""Callback ``on_result(index, completion)``, called as soon as each answer arrives."""


def as_requests(items: Sequence[ExecRequest | str]) -> list[ExecRequest]:
    """Normalise a mix of requests and raw prompt strings to :class:`ExecRequest`."""
    return [it if isinstance(it, ExecRequest) else ExecRequest.raw(str(it)) for it in items]


def make_fingerprint(kind: str, name: str, params: Mapping[str, Any]) -> str:
    """``"kind:name#hash"`` where the hash covers kind, name and the sorted-key JSON of params."""
    blob = json.dumps({"kind": kind, "name": name, "params": params}, sort_keys=True, default=str)
    return f"{kind}:{name}#{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


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


class Generator(ABC):
    """Maps soft prompts ``z`` to instruction texts, deterministically for a given ``z``.

    Subclasses implement :meth:`generate` and :attr:`fingerprint`.
    """

    dim: int | None = None
    """The soft-prompt dimension ``d`` the generator expects (``None``: any)."""

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


class Executor(ABC):
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
