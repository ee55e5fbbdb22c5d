"""Usage counters, prices, templates and instruction extraction."""

from __future__ import annotations

import pytest

from droiz.exceptions import ConfigError
from droiz.llm import DEFAULT_TEMPLATE, ExecRequest, LLMStats, Pricing, extract_instruction
from droiz.llm.prompts import fill, format_demos, induction_prompt, render_prompt, vicuna_prompt
from droiz.llm.retry import RetryPolicy, parse_retry_after
from droiz.llm.stats import resolve_pricing


def test_stats_snapshots_subtract():
    stats = LLMStats()
    before = stats.snapshot()
    stats.add(requests=3, cache_hits=2)
    stats.add_usage(1000, 500, Pricing(1.0, 4.0))
    delta = stats.snapshot() - before
    assert (delta.requests, delta.cache_hits, delta.prompt_tokens) == (3, 2, 1000)
    assert delta.cost == pytest.approx(0.001 + 0.002)
    assert delta.as_dict()["completion_tokens"] == 500


def test_pricing_lookup_by_model():
    assert resolve_pricing("a", {"a": (1.0, 2.0)}) == Pricing(1.0, 2.0)
    assert resolve_pricing("b", {"a": (1.0, 2.0)}) == Pricing()
    assert resolve_pricing("a", Pricing(3, 4)).cost(1_000_000, 0) == 3
    with pytest.raises(ConfigError):
        Pricing(-1.0, 0.0)


def test_default_template_and_request_prompt():
    assert DEFAULT_TEMPLATE == "Instruction: [PROMPT]\n\nInput: [INPUT]\n\nOutput:"
    assert ExecRequest("Do X.", "abc").prompt == "Instruction: Do X.\n\nInput: abc\n\nOutput:"
    assert ExecRequest.raw("verbatim [INPUT]").prompt == "verbatim [INPUT]"


def test_fill_is_single_pass_and_has_one_spelling():
    assert render_prompt("[PROMPT]|[INPUT]", "use [INPUT]", "[PROMPT]") == "use [INPUT]|[PROMPT]"
    assert render_prompt("{v}|{x}|{input}", "I", "X") == "{v}|{x}|{input}"  # not placeholders
    f4 = '{"instruction": "[PROMPT]", "input": "[INPUT]", "output": "'
    assert render_prompt(f4, "I", "X") == '{"instruction": "I", "input": "X", "output": "'
    assert fill("[UNKNOWN] [PROMPT]", PROMPT="p") == "[UNKNOWN] p"


def test_demo_and_induction_formatting():
    demos = [("hot", "cold"), ("up", "down")]
    assert format_demos(demos) == "Input: hot\nOutput: cold\n\nInput: up\nOutput: down"
    assert induction_prompt(demos).endswith("Output: down\n\nThe instruction was to")
    assert vicuna_prompt("Q").startswith("A chat between a curious user")
    assert vicuna_prompt("Q").endswith("USER: Q ASSISTANT:")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" write the antonym of the word.\nInput: hot", "write the antonym of the word."),
        ("The instruction was to: sort the list. Then print it.", "sort the list."),
        ("\n\n  reverse e.g. the list. ok", "reverse e.g. the list. ok"),
        ('"Say hi." And more', "Say hi."),
        ("the Instruction Was To? count words!", "count words!"),
        ("   \n  ", ""),
    ],
)
def test_extract_instruction_rules(raw, expected):
    assert extract_instruction(raw) == expected


def test_retry_policy_waits():
    import random

    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=0.5, max_retry_after=10)
    rng = random.Random(0)
    waits = [policy.wait(k, rng) for k in range(5)]
    assert all(b <= w <= 1.5 * b for w, b in zip(waits, [1, 2, 4, 4, 4], strict=True))
    assert policy.wait(0, rng, retry_after=30) == 10
    assert policy.wait(3, rng, retry_after=2.5) == 2.5


def test_parse_retry_after_forms():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
