"""A local Hugging Face executor, for fully local runs (no API)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from droiz.exceptions import ConfigError
from droiz.llm import _hf
from droiz.llm.base import (
    Capabilities,
    Completion,
    ExecRequest,
    Executor,
    OnResult,
    make_fingerprint,
)
from droiz.llm.stats import LLMStats

logger = logging.getLogger(__name__)


class HFExecutor(Executor):
    """Runs prompts on a local causal LM: batched greedy generation with left padding.

    Each prompt is wrapped in the model's chat template when it has one (``use_chat_template``
    None or True), else sent as plain text with the tokenizer's special tokens. Token counts are
    reported; there is no cost.

    Args:
        model: A model name or local path (``hf:PATH``), or a loaded ``PreTrainedModel``.
        tokenizer: The tokenizer when ``model`` is an object.
        model_id: Name used in the fingerprint; defaults to a packaged or hub name, else
            ``sha256:DIGEST`` of the weights (never the path), or a digest of the object.
        max_new_tokens: Answer length limit.
        batch_size: Prompts per forward batch.
        use_chat_template: ``None``: the chat template if there is one; ``False``: plain text.
        device: Torch device.
        dtype: ``"auto"`` (float32 on CPU, bfloat16 elsewhere) or a dtype name.
        stats: Counters to update; a fresh :class:`LLMStats` by default.
    """

    temperature = 0.0
    capabilities = Capabilities(token_option="max_new_tokens")

    @classmethod
    def check_value(cls, value: str, flag: str) -> None:
        """The model exists locally, in the Hugging Face cache or on the hub (nothing loaded)."""
        from droiz.llm.checks import check_model_name

        check_model_name(flag, value)

    def __init__(
        self,
        model: str | Any,
        *,
        tokenizer: Any = None,
        model_id: str | None = None,
        max_new_tokens: int = 64,
        batch_size: int = 16,
        use_chat_template: bool | None = None,
        device: str = "cpu",
        dtype: str | torch.dtype = "auto",
        stats: LLMStats | None = None,
    ) -> None:
        if max_new_tokens < 1 or batch_size < 1:
            raise ConfigError("need max_new_tokens >= 1 and batch_size >= 1")
        self.dtype = _hf.resolve_dtype(dtype, device)
        loaded = _hf.load(model, tokenizer, model_id, device, self.dtype)
        self.hf_model, self.tokenizer, self.model = loaded.model, loaded.tokenizer, loaded.name
        self._digest, self._key = loaded.digest, loaded.key
        self.max_new_tokens, self.batch_size = int(max_new_tokens), int(batch_size)
        self.use_chat_template = use_chat_template
        self.stats = stats if stats is not None else LLMStats()

    def __repr__(self) -> str:
        return f"HFExecutor(model={self.model!r}, max_new_tokens={self.max_new_tokens})"

    @property
    def fingerprint(self) -> str:
        device = self.hf_model.get_input_embeddings().weight.device.type
        params = {
            "digest": self._digest,
            "max_new_tokens": self.max_new_tokens,
            "greedy": True,
            "chat": self._template_id(),
            "dtype": str(self.dtype),
            "device": device,
        }
        return make_fingerprint("hf-exec", self._key, params)

    def complete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        results: list[Completion] = []
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start : start + self.batch_size]
            for offset, completion in enumerate(self._batch(chunk)):
                results.append(completion)
                if on_result is not None:
                    on_result(start + offset, completion)
        return results

    def _batch(self, requests: Sequence[ExecRequest]) -> list[Completion]:
        ids = [self._encode(r.prompt) for r in requests]
        with torch.no_grad():
            embeds = [_hf.token_embeddings(self.hf_model, i) for i in ids]
        texts, counts = _hf.generate_greedy(
            self.hf_model, self.tokenizer, embeds, self.max_new_tokens
        )
        out = [Completion(text, len(i), n) for i, text, n in zip(ids, texts, counts, strict=True)]
        self.stats.add(
            requests=len(out),
            prompt_tokens=sum(c.prompt_tokens for c in out),
            completion_tokens=sum(c.completion_tokens for c in out),
        )
        return out

    def _template_id(self) -> str:
        if self.use_chat_template is False or not getattr(self.tokenizer, "chat_template", None):
            return "plain"
        return _hf.template_id(self.tokenizer, self.use_chat_template)

    def _encode(self, prompt: str) -> list[int]:
        if self._template_id() == "plain":
            return _hf.encode(self.tokenizer, prompt, templated=False)
        messages = [{"role": "user", "content": prompt}]
        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return _hf.encode(self.tokenizer, str(text), templated=True)
