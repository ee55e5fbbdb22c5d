"""Executors registered from outside droiz (the example of docs/llm.md).

* ``world:SIZE`` runs the instruction world's scripted LLM (:mod:`droiz.testing.worlds`) in process;
  its answer-length option is ``max_words`` (answers keep at most that many words).
* ``gateway:MODEL`` is an OpenAI-compatible endpoint under a kind of its own: the runner gives it
  the endpoint, the caps and the prices because its class says it is HTTP and priced, not
  because of its name.

Used by the executor conformance tests and by the test that runs them through
``droiz optimize --plugin droiz_executor_plugin``.
"""

from __future__ import annotations

from collections.abc import Sequence

from droiz.llm import (
    Capabilities,
    Completion,
    ExecRequest,
    Executor,
    LLMStats,
    OpenAIExecutor,
    register_executor,
)
from droiz.llm.base import OnResult, make_fingerprint
from droiz.testing import InstructionWorld


@register_executor("world")
class WorldExecutor(Executor):
    """The instruction world's scripted answers, at most ``max_words`` words each."""

    capabilities = Capabilities(token_option="max_words")

    def __init__(self, size: str, *, max_words: int = 8, seed: int = 0) -> None:
        self.world = InstructionWorld(size, seed=seed)
        self.model, self.max_words, self.seed = f"world-{size}", int(max_words), int(seed)
        self.stats = LLMStats()

    @property
    def fingerprint(self) -> str:
        params = {"max_words": self.max_words, "seed": self.seed}
        return make_fingerprint("world", self.model, params)

    def complete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        out = []
        for i, request in enumerate(requests):
            words = self.world.answer(request.prompt).split()[: self.max_words]
            completion = Completion(" ".join(words), len(request.prompt.split()), len(words))
            self.stats.add(requests=1, prompt_tokens=completion.prompt_tokens)
            self.stats.add(completion_tokens=completion.completion_tokens)
            out.append(completion)
            if on_result is not None:
                on_result(i, completion)
        return out


@register_executor("gateway")
class GatewayExecutor(OpenAIExecutor):
    """An OpenAI-compatible gateway: everything of :class:`OpenAIExecutor` under another kind."""
