"""Tiny random Hugging Face models and tokenizers, built locally (no download)."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

TINY_CORPUS = (
    "The instruction was to write the antonym of the word. Input: hot Output: cold. "
    "A chat between a curious user and an artificial intelligence assistant. USER: ASSISTANT: "
    "Sort the words in alphabetical order. Translate the sentence into French. Count the objects. "
    "Instruction: Input: Output: 0 1 2 3 4 5 6 7 8 9 ? ! , ; : ( ) [ ] { } ' \" - _ / \n"
)
"""Text the tiny byte-level BPE tokenizer is trained on (any byte can still be encoded)."""

LLAMA_SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
    ),
    "7b": dict(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
        vocab_size=32000,
    ),
}
"""Llama configurations: a 2-layer toy and Llama-2-7B's shape."""


def tiny_tokenizer(vocab_size: int | None = None, chat_template: str | None = None) -> Any:
    """A byte-level BPE tokenizer trained on :data:`TINY_CORPUS`.

    Special tokens: ``<pad>`` = 0, ``<s>`` = 1 (added in front of every text), ``</s>`` = 2.

    Args:
        vocab_size: Pad the vocabulary with dummy tokens up to this size (e.g. 32000).
        chat_template: A Jinja chat template to attach; ``None`` leaves none (Vicuna fallback).
    """
    tokenizers = _require("tokenizers")
    transformers = _require("transformers")
    bpe = tokenizers.Tokenizer(tokenizers.models.BPE())
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator([TINY_CORPUS] * 4, trainer)
    bpe.post_processor = tokenizers.processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", 1)]
    )
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    if vocab_size is not None and vocab_size > len(tok):
        tok.add_tokens([f"<extra_{i}>" for i in range(vocab_size - len(tok))])
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok


def random_llama(
    size: str = "tiny",
    *,
    device: str = "cpu",
    dtype: torch.dtype | None = None,
    seed: int = 0,
    chat_template: str | None = None,
) -> tuple[Any, Any]:
    """A randomly initialised Llama of a named size and its tokenizer, built in memory.

    The ``"7b"`` size is Llama-2-7B's shape; build it with ``device="cuda"`` and
    ``dtype=torch.bfloat16`` (about 13.5 GB of GPU memory, no weights downloaded).
    """
    import torch

    from droiz.llm._hf import dtype_kwargs

    transformers = _require("transformers")
    dims = dict(LLAMA_SIZES[size])
    tok = tiny_tokenizer(dims.pop("vocab_size", None), chat_template)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), bos_token_id=1, eos_token_id=2, pad_token_id=0, **dims
    )
    torch.manual_seed(seed)
    with torch.device(device):  # initialised in place, in the target dtype
        model = transformers.AutoModelForCausalLM.from_config(
            config, **dtype_kwargs(dtype or torch.float32)
        )
    return model.eval(), tok


def build_tiny_llama(
    path: str | os.PathLike[str], *, seed: int = 0, chat_template: str | None = None
) -> Path:
    """Save a tiny random Llama and its tokenizer to ``path`` (a directory) and return the path."""
    model, tok = random_llama("tiny", seed=seed, chat_template=chat_template)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return Path(path)


def _require(module: str) -> ModuleType:
    from droiz._imports import require

    return require(module, "hf")
