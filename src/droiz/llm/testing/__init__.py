"""Test doubles for the LLM layer: a loopback OpenAI-compatible server and tiny random HF models.

Shipped inside the package (as Optuna ships ``optuna.testing``) so that droiz's own tests, its
benchmarks and users' own tests can use them. Importing this module imports only the standard
library; the model builders import ``transformers`` and ``tokenizers`` when called.
"""

from __future__ import annotations

from droiz.llm.testing.models import (
    LLAMA_SIZES,
    TINY_CORPUS,
    build_tiny_llama,
    random_llama,
    tiny_tokenizer,
)
from droiz.llm.testing.server import (
    FAULT_KINDS,
    AnswerFn,
    FakeOpenAIServer,
    Fault,
    completion_body,
    echo_answer,
    parse_default_prompt,
    prompt_of,
)

__all__ = [
    "FAULT_KINDS",
    "LLAMA_SIZES",
    "TINY_CORPUS",
    "AnswerFn",
    "FakeOpenAIServer",
    "Fault",
    "build_tiny_llama",
    "completion_body",
    "echo_answer",
    "parse_default_prompt",
    "prompt_of",
    "random_llama",
    "tiny_tokenizer",
]
