"""Helpers for your own tests: conformance suites and test doubles, shipped with the package.

Run the engine's conformance suite on a method you registered, and the executors' on an executor
you registered::

    from droiz.testing import check_executor, check_method

    def test_my_method_keeps_the_contract():
        import my_methods  # registers "mine" with @droiz.optim.register_method

        check_method("mine")

    def test_my_executor_keeps_the_contract():
        import my_executors  # registers "mine" with @droiz.llm.register_executor

        check_executor("mine:my-model")

The test doubles: :class:`FakeOpenAIServer`, a loopback OpenAI-compatible server with scripted
answers and injected faults (standard library only), and tiny random Hugging Face models built
locally (:func:`random_llama`, :func:`build_tiny_llama`; they import ``transformers`` when
called). The test worlds: :class:`InstructionWorld`, a synthetic reverse-the-word task with its
instruction pool and a scripted answer function for the server, and :func:`write_planted_task`, a
task of three planted subpopulations without group labels (standard library only; see
:mod:`droiz.testing.worlds`). See :mod:`droiz.optim.conformance` and
:mod:`droiz.testing.executors` for the individual checks.
"""

from __future__ import annotations

from droiz.optim.conformance import (
    CHECKS,
    ambiguity_sets,
    check_budget,
    check_candidates,
    check_dtypes,
    check_group_counts,
    check_kl0_is_nominal,
    check_method,
    check_proposals,
    check_state_round_trip,
    make_engine,
)
from droiz.testing.executors import (
    EXECUTOR_CHECKS,
    check_answers,
    check_caching,
    check_caps,
    check_declaration,
    check_errors,
    check_executor,
    check_fingerprint,
    check_usage,
    scripted_answer,
)
from droiz.testing.models import (
    LLAMA_SIZES,
    TINY_CORPUS,
    build_tiny_llama,
    random_llama,
    tiny_tokenizer,
)
from droiz.testing.server import (
    FAULT_KINDS,
    AnswerFn,
    FakeOpenAIServer,
    Fault,
    completion_body,
    echo_answer,
    parse_default_prompt,
    prompt_of,
)
from droiz.testing.worlds import (
    FAMILIES,
    GROUPS,
    Family,
    InstructionWorld,
    parse_query,
    planted_rows,
    write_planted_task,
)

__all__ = [
    "CHECKS",
    "EXECUTOR_CHECKS",
    "FAMILIES",
    "FAULT_KINDS",
    "GROUPS",
    "LLAMA_SIZES",
    "TINY_CORPUS",
    "AnswerFn",
    "FakeOpenAIServer",
    "Family",
    "Fault",
    "InstructionWorld",
    "ambiguity_sets",
    "build_tiny_llama",
    "check_answers",
    "check_budget",
    "check_caching",
    "check_candidates",
    "check_caps",
    "check_declaration",
    "check_dtypes",
    "check_errors",
    "check_executor",
    "check_fingerprint",
    "check_group_counts",
    "check_kl0_is_nominal",
    "check_method",
    "check_proposals",
    "check_state_round_trip",
    "check_usage",
    "completion_body",
    "echo_answer",
    "make_engine",
    "parse_default_prompt",
    "parse_query",
    "planted_rows",
    "prompt_of",
    "random_llama",
    "scripted_answer",
    "tiny_tokenizer",
    "write_planted_task",
]
