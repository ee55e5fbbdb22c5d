"""The LLM layer: instruction generators, executors, response caching and sentence embeddings.

Importing this package imports neither ``transformers``, ``openai`` nor ``sentence_transformers``;
each backend imports its library when it is first built, with an install hint when it is missing.

- Generators (``generate(z, demos) -> list[str]``): :class:`HFSoftPromptGenerator` (``hf:PATH``),
  :class:`APIProposer` (``api:MODEL``), :class:`PoolGenerator` (``pool:FILE``).
- Executors (``execute(requests) -> list[str]``): :class:`OpenAIExecutor` (``openai:MODEL``),
  :class:`HFExecutor` (``hf:PATH``); requests are :class:`ExecRequest` or raw prompt strings.
- Caching: :class:`ResponseCache` (SQLite), :class:`CachedExecutor`, :class:`CachedGenerator`;
  usage counters: :class:`LLMStats`.
- :class:`SentenceEmbedder` for the semantic instruction kernel.
- :func:`make_generator` / :func:`make_executor` build them from spec strings; a plugin adds a
  kind with :func:`register_generator` / :func:`register_executor`, and each class declares what
  it is (HTTP or in process, priced, its answer-length option) in its :class:`Capabilities`.
"""

from __future__ import annotations

from droiz.llm.api_proposer import APIProposer
from droiz.llm.base import (
    Capabilities,
    Completion,
    ExecRequest,
    Executor,
    Generator,
    RequestBound,
    as_requests,
    check_z,
)
from droiz.llm.cache import (
    ResponseCache,
    default_cache_dir,
    endpoint_namespace,
    instruction_key,
    response_key,
)
from droiz.llm.cached import CachedExecutor, CachedGenerator
from droiz.llm.embed import SentenceEmbedder
from droiz.llm.factory import (
    EXECUTORS,
    GENERATORS,
    make_executor,
    make_generator,
    parse_spec,
    register_executor,
    register_generator,
)
from droiz.llm.hf_executor import HFExecutor
from droiz.llm.hf_generator import HFSoftPromptGenerator, SoftPromptProjection
from droiz.llm.openai_executor import OpenAIExecutor
from droiz.llm.pool import PoolGenerator, load_pool
from droiz.llm.prompts import (
    APE_TEMPLATE,
    DEFAULT_TEMPLATE,
    INDUCTION_TEMPLATE,
    Demo,
    extract_instruction,
    render_prompt,
)
from droiz.llm.retry import RetryPolicy
from droiz.llm.stats import LLMStats, Pricing, StatsSnapshot

__all__ = [
    "APE_TEMPLATE",
    "DEFAULT_TEMPLATE",
    "EXECUTORS",
    "GENERATORS",
    "INDUCTION_TEMPLATE",
    "APIProposer",
    "CachedExecutor",
    "CachedGenerator",
    "Capabilities",
    "Completion",
    "Demo",
    "ExecRequest",
    "Executor",
    "Generator",
    "HFExecutor",
    "HFSoftPromptGenerator",
    "LLMStats",
    "OpenAIExecutor",
    "PoolGenerator",
    "Pricing",
    "RequestBound",
    "ResponseCache",
    "RetryPolicy",
    "SentenceEmbedder",
    "SoftPromptProjection",
    "StatsSnapshot",
    "as_requests",
    "check_z",
    "default_cache_dir",
    "endpoint_namespace",
    "extract_instruction",
    "instruction_key",
    "load_pool",
    "make_executor",
    "make_generator",
    "parse_spec",
    "register_executor",
    "register_generator",
    "render_prompt",
    "response_key",
]
