"""APE-style proposer: an OpenAI-compatible model writes instructions from demos."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from droiz.exceptions import ConfigError
from droiz.llm.base import (
    Capabilities,
    ExecRequest,
    Executor,
    Generator,
    RequestBound,
    check_z,
    make_fingerprint,
    option_default,
    token_limit,
)
from droiz.llm.budget import prompt_token_bound
from droiz.llm.cache import ResponseCache
from droiz.llm.cached import CachedExecutor
from droiz.llm.prompts import APE_TEMPLATE, Demo, extract_instruction, fill, format_demos


class APIProposer(Generator):
    """Proposes instructions with a chat/completions model, steered deterministically by ``z``.

    The map from ``z`` (``d``) to a proposal request, with seeded Gaussian draws ``b`` (``d``)
    and ``S`` (``N x d`` for ``N`` demos; the same for a given seed and ``N``):

    - demo subset and order: the ``n_demos`` demos with the largest scores ``S z``, in
      decreasing score order;
    - sample index: ``floor(n_samples * Phi(sqrt(3) b.z / |b|))`` (``Phi`` the normal CDF, which
      makes the index about uniform for uniform ``z``).

    Nearby ``z`` share subsets and samples; distant ones differ. The prompt is ``template`` with
    ``[full_DEMO]`` filled, sent with the sample index (at temperature > 0 the index selects one
    cached sample; at temperature 0 only the subset and order matter). Identical requests are
    sent once; answers are post-processed by :func:`~droiz.llm.prompts.extract_instruction`.
    Give a ``cache`` for proposals that are reproducible across runs.

    Args:
        model: Model name for a new :class:`~droiz.llm.openai_executor.OpenAIExecutor`.
        executor: Use this executor instead (``model`` and the executor options are then ignored).
        cache: Response cache for the proposals.
        dim: Soft-prompt dimension ``d``.
        n_demos: Demos per proposal prompt.
        n_samples: Number of distinct sample indices.
        seed: Seed of ``b`` and ``S``.
        template: Proposal prompt with ``[full_DEMO]``.
        temperature: Sampling temperature of the new executor.
        max_tokens: Answer length limit of the new executor.
        **executor_options: Further options of the new executor (``base_url``,
            ``api_key_env``, ...).
    """

    capabilities = Capabilities(http=True, priced=True, token_option="max_tokens")

    def __init__(
        self,
        model: str | None = None,
        *,
        executor: Executor | None = None,
        cache: ResponseCache | None = None,
        dim: int = 10,
        n_demos: int = 5,
        n_samples: int = 4,
        seed: int = 0,
        template: str = APE_TEMPLATE,
        temperature: float = 0.7,
        max_tokens: int = 64,
        **executor_options: Any,
    ) -> None:
        if executor is None:
            from droiz.llm.openai_executor import OpenAIExecutor

            if not model:
                raise ConfigError("APIProposer needs a model name (api:MODEL) or an executor")
            executor = OpenAIExecutor(
                model, temperature=temperature, max_tokens=max_tokens, **executor_options
            )
        if n_demos < 1 or n_samples < 1 or "[full_DEMO]" not in template:
            raise ConfigError("need n_demos >= 1, n_samples >= 1 and [full_DEMO] in the template")
        self.executor = CachedExecutor(executor, cache) if cache is not None else executor
        self.dim: int = int(dim)
        self.n_demos, self.n_samples, self.seed = n_demos, n_samples, seed
        self.template = template

    @staticmethod
    def extra_option_names() -> set[str]:
        """Options forwarded to a new :class:`~droiz.llm.openai_executor.OpenAIExecutor`."""
        from droiz.llm.openai_executor import OpenAIExecutor

        return set(inspect.signature(OpenAIExecutor.__init__).parameters) - {"self", "model"}

    @classmethod
    def plan_requests(
        cls, n: int, demos: Sequence[Demo], options: Mapping[str, Any]
    ) -> RequestBound:
        """One request per instruction; each prompt at most the template filled with the
        ``n_demos`` longest demos, each answer at most ``max_tokens``."""
        if not n:
            return RequestBound()
        template = str(options.get("template", option_default(cls, "template")))
        k = int(options.get("n_demos", option_default(cls, "n_demos")))
        longest = sorted(demos, key=lambda d: -len(f"{d[0]}{d[1]}".encode()))
        prompt = fill(template, full_DEMO=format_demos(longest[:k]))
        limit = token_limit(cls, options) or 0
        return RequestBound(n, n * prompt_token_bound(prompt), n * limit)

    def __repr__(self) -> str:
        return f"APIProposer({self.executor!r}, n_demos={self.n_demos}, seed={self.seed})"

    @property
    def fingerprint(self) -> str:
        params = {
            "executor": self.executor.fingerprint,
            "dim": self.dim,
            "n_demos": self.n_demos,
            "n_samples": self.n_samples,
            "seed": self.seed,
            "template": self.template,
            "postprocess": "v1",
        }
        return make_fingerprint("api", self.executor.model, params)

    def plan(self, z: Tensor, n_available: int) -> list[tuple[list[int], int]]:
        """For each row of ``z``: the chosen demo indices (in prompt order) and the sample index."""
        z = check_z(z, self.dim)
        if n_available < 1:
            raise ConfigError("APIProposer needs at least one demo")
        gen = torch.Generator().manual_seed(self.seed)
        b = torch.randn(self.dim, generator=gen, dtype=torch.float64)
        scores_matrix = torch.randn(n_available, self.dim, generator=gen, dtype=torch.float64)
        k = min(self.n_demos, n_available)
        plans = []
        for row in z:
            scores = (scores_matrix * row).sum(-1)
            order = sorted(range(n_available), key=lambda i: (-float(scores[i]), i))[:k]
            t = math.sqrt(3.0) * float((b * row).sum()) / float(b.norm())
            u = 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))
            plans.append((order, min(self.n_samples - 1, int(u * self.n_samples))))
        return plans

    def generate(self, z: Tensor, demos: Sequence[Demo]) -> list[str]:
        demos = list(demos)
        requests = []
        for order, sample in self.plan(z, len(demos)):
            prompt = fill(self.template, full_DEMO=format_demos([demos[i] for i in order]))
            requests.append(ExecRequest.raw(prompt, sample=sample))
        unique = list(dict.fromkeys(requests))
        answers = dict(zip(unique, self.executor.execute(unique), strict=True))
        return [extract_instruction(answers[r]) for r in requests]
