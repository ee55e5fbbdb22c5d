"""Helpers shared by the Hugging Face generator and executor (``transformers`` imported lazily)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from droiz._imports import require
from droiz.exceptions import ConfigError
from droiz.llm.models import PACKAGED, resolve_model
from droiz.llm.prompts import vicuna_prompt

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase as Tokenizer

logger = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_dtype(dtype: str | torch.dtype, device: str) -> torch.dtype:
    """``"auto"`` is float32 on CPU and bfloat16 elsewhere; names map to torch dtypes."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return torch.float32 if torch.device(device).type == "cpu" else torch.bfloat16
    if dtype not in _DTYPES:
        raise ConfigError(f"dtype must be 'auto' or one of {sorted(_DTYPES)}, got {dtype!r}")
    return _DTYPES[dtype]


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Without transformers' progress bars (``Loading weights``) while a model loads: droiz
    logs what it loads, and a bar on stderr would interleave with its own progress lines
    (and show even with ``--no-progress``)."""
    logging_utils = require("transformers", "hf").utils.logging
    enabled = logging_utils.is_progress_bar_enabled()
    logging_utils.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging_utils.enable_progress_bar()


@functools.lru_cache(maxsize=2)
def load_causal_lm(name_or_path: str, device: str, dtype: torch.dtype) -> tuple[Any, Tokenizer]:
    """Load (and memoise) a causal LM in eval mode and its tokenizer, set up for left padding."""
    transformers = require("transformers", "hf")
    try:
        with quiet_loading():
            tokenizer = transformers.AutoTokenizer.from_pretrained(name_or_path)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                name_or_path, **dtype_kwargs(dtype)
            )
    except OSError as exc:
        raise ConfigError(
            f"cannot load a Hugging Face causal LM from {name_or_path!r}: {exc}".splitlines()[0]
        ) from exc
    return model.to(device).eval(), prepare_tokenizer(tokenizer)


def dtype_kwargs(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """The dtype keyword of ``from_pretrained`` / ``from_config``: ``dtype`` since transformers
    4.56, ``torch_dtype`` before."""
    transformers = require("transformers", "hf")
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def prepare_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """Left padding, and a pad token (EOS, else UNK) when the tokenizer has none."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def hub_digest(name: str, model: Any) -> str:
    """A short digest of a hub model not found on disk: its name and resolved commit hash."""
    digest = hashlib.sha256(name.encode())
    digest.update(str(getattr(model.config, "_commit_hash", None)).encode())
    return digest.hexdigest()[:16]


def memory_digest(model: Any) -> str:
    """A digest of an in-memory model: its config and the first rows of its input embeddings."""
    digest = hashlib.sha256(
        json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode()
    )
    head = embedding_matrix(model)[:8].detach().float().cpu()
    digest.update(head.numpy().tobytes())
    return digest.hexdigest()[:16]


def chat_format(
    tokenizer: Tokenizer, user_text: str, use_chat_template: bool | None
) -> tuple[str, bool]:
    """Wrap ``user_text`` as one user turn ready for the assistant's answer.

    Uses the tokenizer's chat template when it has one (and ``use_chat_template`` is not False),
    else Vicuna v1.1's format. Returns the text and whether a chat template was used (then the
    text already holds any BOS token and must be tokenized without special tokens).
    """
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if use_chat_template and not has_template:
        raise ConfigError("use_chat_template=True but the tokenizer has no chat template")
    if has_template and use_chat_template is not False:
        messages = [{"role": "user", "content": user_text}]
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return str(text), True
    return vicuna_prompt(user_text), False


def template_id(tokenizer: Tokenizer, use_chat_template: bool | None) -> str:
    """Identifies the conversation format that :func:`chat_format` will use."""
    chat = getattr(tokenizer, "chat_template", None)
    if chat and use_chat_template is not False:
        return "chat:" + hashlib.sha256(str(chat).encode()).hexdigest()[:12]
    return "vicuna-v1.1"


def encode(tokenizer: Tokenizer, text: str, templated: bool) -> list[int]:
    """Token ids of ``text``; special tokens are added only when no chat template was applied."""
    return list(tokenizer(text, add_special_tokens=not templated)["input_ids"])


@torch.no_grad()
def generate_greedy(
    model: Any, tokenizer: Tokenizer, embeds: Sequence[Tensor], max_new_tokens: int
) -> tuple[list[str], list[int]]:
    """Greedy generation for a batch of ``L_i x H`` input embeddings, left-padded with a mask.

    Returns the decoded new text of each sequence (special tokens skipped, cut at EOS) and the
    number of tokens generated for each. A plain greedy configuration is used, not the model's
    own sampling defaults.
    """
    length = max(e.shape[0] for e in embeds)
    pad = embedding_matrix(model)[tokenizer.pad_token_id]
    rows, masks = [], []
    for e in embeds:
        fill = length - e.shape[0]
        rows.append(torch.cat([pad.expand(fill, -1), e.to(pad.dtype)], dim=0))
        masks.append(torch.cat([torch.zeros(fill), torch.ones(e.shape[0])]).long())
    transformers = require("transformers", "hf")
    config = transformers.GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=model.generation_config.eos_token_id or tokenizer.eos_token_id,
    )
    inputs = torch.stack(rows)
    mask = torch.stack(masks).to(pad.device)
    out = model.generate(inputs_embeds=inputs, attention_mask=mask, generation_config=config)
    texts = tokenizer.batch_decode(out, skip_special_tokens=True)
    return texts, [_count_new(row, config.eos_token_id, tokenizer.pad_token_id) for row in out]


def _count_new(row: Tensor, eos: int | list[int] | None, pad: int) -> int:
    """Generated tokens in one output row, up to and including the first EOS, without padding."""
    stops = set(eos if isinstance(eos, list) else [eos]) - {None}
    count = 0
    for token in row.tolist():
        if token == pad and token not in stops:
            continue
        count += 1
        if token in stops:
            break
    return count


def token_embeddings(model: Any, ids: Sequence[int]) -> Tensor:
    """``L x H`` input embeddings of token ids, on the model's device."""
    weight = embedding_matrix(model)
    vectors: Tensor = model.get_input_embeddings()(torch.tensor(list(ids), device=weight.device))
    return vectors


def embedding_matrix(model: Any) -> Tensor:
    """The ``V x H`` input-embedding matrix of ``model``."""
    # Models are Any in this module: transformers' PreTrainedModel does not declare a causal
    # LM's generate(), and types the embedding layer's weight as Tensor | Module.
    weight: Tensor = model.get_input_embeddings().weight
    return weight


@dataclass(frozen=True)
class Loaded:
    """A loaded model and what identifies it.

    Attributes:
        model, tokenizer: The model (eval mode) and its left-padding tokenizer.
        name: Display name (``model_id``, else what the user gave).
        digest: Identity digest (weights' content hash for local models).
        key: The name fingerprints use: ``model_id``, a packaged name or a hub name, or
            ``sha256:DIGEST`` for a local file or folder (never a path).
    """

    model: Any
    tokenizer: Tokenizer
    name: str
    digest: str
    key: str


def load(
    model: str | Any, tokenizer: Any, model_id: str | None, device: str, dtype: torch.dtype
) -> Loaded:
    """Model, tokenizer, display name, identity digest and fingerprint name, from a name, path,
    ``.gguf`` file or packaged name (see :mod:`droiz.llm.models`) or from loaded objects."""
    if isinstance(model, str):
        source = resolve_model(model)
        loaded, tok = load_causal_lm(source.load_path, device, dtype)
        if source.digest is None:  # a hub name
            digest = hub_digest(model, loaded)
            key = model_id or model
        else:
            digest = source.digest[:16]
            key = model_id or (model if model in PACKAGED else f"sha256:{digest}")
        return Loaded(loaded, tok, model_id or model, digest, key)
    if tokenizer is None:
        raise ConfigError("pass tokenizer= together with a loaded model object")
    digest = memory_digest(model)
    name = model_id or f"memory:{digest}"
    return Loaded(model.eval(), prepare_tokenizer(tokenizer), name, digest, name)
