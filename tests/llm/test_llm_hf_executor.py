"""HFExecutor on a tiny random Llama: left padding, batching, usage, caching."""

from __future__ import annotations

import pytest

from droiz.llm import CachedExecutor, ExecRequest, HFExecutor
from droiz.testing import random_llama

REQUESTS = [
    ExecRequest("Repeat.", "a"),
    ExecRequest("Write the antonym of the word given as input, in lower case.", "hot"),
    ExecRequest.raw("x"),
    ExecRequest("Sort.", "c b a", template="[PROMPT]\n\nQ: [INPUT]\nA:"),
]


@pytest.fixture(scope="module")
def executor(tiny_model: str) -> HFExecutor:
    return HFExecutor(tiny_model, max_new_tokens=10, batch_size=4)


def test_left_padded_batch_equals_one_by_one(executor):
    lengths = {len(executor._encode(r.prompt)) for r in REQUESTS}
    assert len(lengths) == len(REQUESTS)  # really different lengths, so padding is exercised
    batched = executor.execute(REQUESTS)
    single = [executor.execute([r])[0] for r in REQUESTS]
    assert batched == single
    assert executor.tokenizer.padding_side == "left"


def test_usage_is_counted(tiny_model):
    ex = HFExecutor(tiny_model, max_new_tokens=6, batch_size=2)
    completions = ex.complete(REQUESTS[:3])
    assert ex.stats.requests == 3
    assert ex.stats.prompt_tokens == sum(len(ex._encode(r.prompt)) for r in REQUESTS[:3])
    assert ex.stats.completion_tokens == sum(c.completion_tokens for c in completions)
    assert all(1 <= c.completion_tokens <= 6 for c in completions)


def test_chat_template_changes_the_prompt_and_fingerprint(tiny_model, tiny_chat_model):
    plain = HFExecutor(tiny_model, max_new_tokens=2)
    chat = HFExecutor(tiny_chat_model, max_new_tokens=2)
    ids = chat._encode("hello")
    assert chat.tokenizer.decode(ids) == "<s><|user|>hello\n<|assistant|>"
    assert plain.tokenizer.decode(plain._encode("hello")) == "<s>hello"
    assert plain.fingerprint != chat.fingerprint
    no_chat = HFExecutor(tiny_chat_model, max_new_tokens=2, use_chat_template=False)
    assert no_chat.tokenizer.decode(no_chat._encode("hello")) == "<s>hello"


def test_cached_hf_executor_second_run_generates_nothing(executor, cache):
    first = CachedExecutor(executor, cache).execute(REQUESTS)
    before = executor.stats.requests
    again = CachedExecutor(executor, cache)
    assert again.execute(REQUESTS) == first
    assert executor.stats.requests == before


def test_in_memory_model_needs_tokenizer_and_gets_a_digest_id():
    model, tok = random_llama("tiny", seed=3)
    ex = HFExecutor(model, tokenizer=tok, max_new_tokens=3)
    assert ex.model.startswith("memory:")
    other_model, other_tok = random_llama("tiny", seed=4)
    assert HFExecutor(other_model, tokenizer=other_tok).fingerprint != ex.fingerprint
    with pytest.raises(ValueError, match="tokenizer"):
        HFExecutor(model)
