"""InstructZero's instruction generator: a soft prompt steers a local open LLM.

``z`` (``n x d``, d=10) → fixed seeded random projection → ``n_tokens`` (5) soft-token embeddings,
placed in front of the induction prompt (the demos and "The instruction was to", wrapped in the
model's chat template, or Vicuna v1.1's when it has none) and right after a leading BOS token when
the tokenized prompt starts with one. All candidates of a round are generated in one batch, greedy,
left-padded with an attention mask; the continuation is post-processed by
:func:`~droiz.llm.prompts.extract_instruction`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from droiz.exceptions import ConfigError
from droiz.llm import _hf
from droiz.llm.base import Capabilities, Generator, check_z, make_fingerprint
from droiz.llm.prompts import INDUCTION_TEMPLATE, Demo, extract_instruction, induction_prompt

logger = logging.getLogger(__name__)

INITS = ("uniform", "normal")


class SoftPromptProjection:
    """The fixed random map from ``z`` to soft-token embeddings.

    ``A`` is a ``d x (n_tokens * hidden)`` float64 matrix drawn from a seeded generator:
    ``"uniform"`` on ``[-1, 1]`` (InstructZero's init), or ``"normal"`` with mean 0 and standard
    deviation ``embedding_std / sqrt(d)`` (InstructZero's formula with alpha = sigma = 1; its code
    computes this but then applies the uniform init anyway).

    Args:
        dim: Soft-prompt dimension ``d``.
        n_tokens: Number of soft tokens.
        hidden: Embedding width of the model.
        init: ``"uniform"`` or ``"normal"``.
        seed: Seed of the projection.
        embedding_std: Standard deviation of the model's token embeddings (``"normal"`` only).
    """

    def __init__(
        self,
        dim: int,
        n_tokens: int,
        hidden: int,
        *,
        init: str = "uniform",
        seed: int = 0,
        embedding_std: float | None = None,
    ) -> None:
        if init not in INITS:
            raise ConfigError(f"projection init must be one of {INITS}, got {init!r}")
        if dim < 1 or n_tokens < 1:
            raise ConfigError(f"need dim >= 1 and n_tokens >= 1, got {dim}, {n_tokens}")
        gen = torch.Generator().manual_seed(seed)
        shape = (dim, n_tokens * hidden)
        if init == "uniform":
            self.matrix = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1
        else:
            std = (embedding_std or 1.0) / math.sqrt(dim)
            self.matrix = torch.randn(shape, generator=gen, dtype=torch.float64) * std
        self.n_tokens, self.hidden = n_tokens, hidden

    def __call__(self, z: Tensor) -> Tensor:
        """``n x d`` float64 → ``n x n_tokens x hidden`` float64.

        Accumulates ``z[:, i] * A[i]`` one coordinate at a time, so each row's result is bitwise
        independent of the batch it is computed in (a matmul may change its summation order).
        """
        out = torch.zeros(z.shape[0], self.matrix.shape[1], dtype=torch.float64)
        for i in range(self.matrix.shape[0]):
            out += z[:, i : i + 1] * self.matrix[i]
        return out.view(z.shape[0], self.n_tokens, self.hidden)


class HFSoftPromptGenerator(Generator):
    """Writes instructions with a local Hugging Face causal LM steered by soft prompts.

    Args:
        model: A model name or local path (``hf:PATH``), or a loaded ``PreTrainedModel``.
        tokenizer: The tokenizer when ``model`` is an object (loaded from ``model`` otherwise).
        model_id: Name used in the fingerprint; defaults to a packaged or hub name, else
            ``sha256:DIGEST`` of the weights (never the path), or a digest of the object.
        dim: Soft-prompt dimension ``d``.
        n_tokens: Number of soft tokens.
        init: Projection init, ``"uniform"`` or ``"normal"``.
        seed: Projection seed.
        induction_template: The induction question with ``[full_DEMO]``.
        use_chat_template: ``None``: the model's chat template if it has one, else Vicuna's;
            ``False``: always Vicuna's; ``True``: require a chat template.
        max_new_tokens: Generation length limit.
        batch_size: Candidates per forward batch.
        device: Torch device.
        dtype: ``"auto"`` (float32 on CPU, bfloat16 elsewhere) or a dtype name.
    """

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
        dim: int = 10,
        n_tokens: int = 5,
        init: str = "uniform",
        seed: int = 0,
        induction_template: str = INDUCTION_TEMPLATE,
        use_chat_template: bool | None = None,
        max_new_tokens: int = 128,
        batch_size: int = 25,
        device: str = "cpu",
        dtype: str | torch.dtype = "auto",
    ) -> None:
        if "[full_DEMO]" not in induction_template:
            raise ConfigError("induction_template must contain [full_DEMO]")
        self.dtype = _hf.resolve_dtype(dtype, device)
        loaded = _hf.load(model, tokenizer, model_id, device, self.dtype)
        self.model, self.tokenizer, self.model_id = loaded.model, loaded.tokenizer, loaded.name
        self._digest, self._key = loaded.digest, loaded.key
        weight = _hf.embedding_matrix(self.model)
        self.dim, self.seed, self.init = int(dim), int(seed), init
        self.projection = SoftPromptProjection(
            dim,
            n_tokens,
            weight.shape[1],
            init=init,
            seed=seed,
            # only the normal init uses it; on a 7B model it is a 0.5 GB float32 copy
            embedding_std=float(weight.detach().float().std()) if init == "normal" else None,
        )
        self.induction_template = induction_template
        self.use_chat_template = use_chat_template
        self.max_new_tokens, self.batch_size = int(max_new_tokens), max(1, int(batch_size))
        self.device = str(weight.device)

    def __repr__(self) -> str:
        return f"HFSoftPromptGenerator(model={self.model_id!r}, dim={self.dim}, seed={self.seed})"

    @property
    def fingerprint(self) -> str:
        params = {
            "digest": self._digest,
            "dim": self.dim,
            "n_tokens": self.projection.n_tokens,
            "init": self.init,
            "seed": self.seed,
            "induction": self.induction_template,
            "chat": _hf.template_id(self.tokenizer, self.use_chat_template),
            "max_new_tokens": self.max_new_tokens,
            "greedy": True,
            "postprocess": "v1",
            "dtype": str(self.dtype),
            "device": torch.device(self.device).type,
        }
        return make_fingerprint("hf", self._key, params)

    def generate(self, z: Tensor, demos: Sequence[Demo]) -> list[str]:
        raw = self.generate_raw(z, demos)
        texts = [extract_instruction(t) for t in raw]
        for r, t in zip(raw, texts, strict=True):
            logger.debug("generated %r -> instruction %r", r, t)
        return texts

    def generate_raw(self, z: Tensor, demos: Sequence[Demo]) -> list[str]:
        """The model's continuations before post-processing, one per row of ``z``."""
        z = check_z(z, self.dim)
        head, tail = self._prompt_embeddings(demos)
        soft = self.projection(z).to(device=head.device, dtype=head.dtype)
        embeds = [torch.cat([head, soft[i], tail], dim=0) for i in range(z.shape[0])]
        out: list[str] = []
        for start in range(0, len(embeds), self.batch_size):
            chunk = embeds[start : start + self.batch_size]
            texts, _ = _hf.generate_greedy(self.model, self.tokenizer, chunk, self.max_new_tokens)
            out += texts
        return out

    def _prompt_embeddings(self, demos: Sequence[Demo]) -> tuple[Tensor, Tensor]:
        """Embeddings of the templated prompt, split after a leading BOS token (if any)."""
        user = induction_prompt(demos, self.induction_template)
        text, templated = _hf.chat_format(self.tokenizer, user, self.use_chat_template)
        ids = _hf.encode(self.tokenizer, text, templated)
        cut = 1 if ids and ids[0] == self.tokenizer.bos_token_id else 0
        with torch.no_grad():
            embeds = _hf.token_embeddings(self.model, ids)
        return embeds[:cut], embeds[cut:]
