"""HFSoftPromptGenerator on a tiny random Llama: determinism, batching, templates, caching."""

from __future__ import annotations

import math

import pytest
import torch

from droiz.exceptions import ConfigError, ShapeError
from droiz.llm import (
    CachedGenerator,
    HFSoftPromptGenerator,
    SoftPromptProjection,
    _hf,
    extract_instruction,
)
from droiz.llm.prompts import VICUNA_SYSTEM, induction_prompt

DEMOS = [("hot", "cold"), ("up", "down"), ("big", "small")]


def _z(n: int, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 10, generator=gen, dtype=torch.float64) * 2 - 1


@pytest.fixture(scope="module")
def generator(tiny_model: str) -> HFSoftPromptGenerator:
    return HFSoftPromptGenerator(tiny_model, max_new_tokens=12, batch_size=25)


def test_batched_equals_one_by_one(generator):
    z = _z(7)
    batched = generator.generate_raw(z, DEMOS)
    single = [generator.generate_raw(z[i : i + 1], DEMOS)[0] for i in range(7)]
    assert batched == single
    assert len(set(batched)) > 1  # different soft prompts steer the model differently


def test_chunked_batches_equal_one_batch(tiny_model, generator):
    small = HFSoftPromptGenerator(tiny_model, max_new_tokens=12, batch_size=3)
    z = _z(7, seed=2)
    assert small.generate_raw(z, DEMOS) == generator.generate_raw(z, DEMOS)


def test_deterministic_for_seed_and_z(tiny_model, generator):
    z = _z(4, seed=3)
    again = HFSoftPromptGenerator(tiny_model, max_new_tokens=12)
    assert again.generate(z, DEMOS) == generator.generate(z, DEMOS)
    assert again.fingerprint == generator.fingerprint
    other = HFSoftPromptGenerator(tiny_model, max_new_tokens=12, seed=1)
    assert other.fingerprint != generator.fingerprint
    assert not torch.equal(other.projection.matrix, generator.projection.matrix)


def test_generate_post_processes_raw_output(generator):
    z = _z(3, seed=4)
    assert generator.generate(z, DEMOS) == [
        extract_instruction(t) for t in generator.generate_raw(z, DEMOS)
    ]


def test_soft_tokens_follow_bos_and_precede_the_vicuna_prompt(generator, monkeypatch):
    seen: list[torch.Tensor] = []
    real = _hf.generate_greedy

    def spy(model, tokenizer, embeds, max_new_tokens):
        seen.extend(embeds)
        return real(model, tokenizer, embeds, max_new_tokens)

    monkeypatch.setattr(_hf, "generate_greedy", spy)
    z = _z(1, seed=5)
    generator.generate_raw(z, DEMOS)
    text, templated = _hf.chat_format(generator.tokenizer, "Q", None)
    assert not templated and text.startswith(VICUNA_SYSTEM) and text.endswith("USER: Q ASSISTANT:")
    prompt = _hf.chat_format(generator.tokenizer, induction_prompt(DEMOS), None)[0]
    ids = _hf.encode(generator.tokenizer, prompt, templated=False)
    assert ids[0] == generator.tokenizer.bos_token_id
    embeds = seen[0]
    table = generator.model.get_input_embeddings().weight
    soft = generator.projection(z)[0].to(embeds.dtype)
    assert embeds.shape[0] == len(ids) + 5
    assert torch.equal(embeds[0], table[ids[0]])
    assert torch.equal(embeds[1:6], soft)
    assert torch.equal(embeds[6:], table[ids[1:]])


def test_chat_template_is_used_when_the_model_has_one(tiny_chat_model, tiny_model):
    chat = HFSoftPromptGenerator(tiny_chat_model, max_new_tokens=4)
    text, templated = _hf.chat_format(chat.tokenizer, "Q", None)
    assert templated and text == "<s><|user|>Q\n<|assistant|>"
    assert _hf.chat_format(chat.tokenizer, "Q", False)[0].startswith(VICUNA_SYSTEM)
    plain = HFSoftPromptGenerator(tiny_model, max_new_tokens=4)
    assert chat.fingerprint != plain.fingerprint
    assert "vicuna" not in _hf.template_id(chat.tokenizer, None)
    with pytest.raises(ConfigError, match="no chat template"):
        _hf.chat_format(plain.tokenizer, "Q", True)


def test_normal_projection_is_scaled_by_embedding_std(tiny_model):
    gen = HFSoftPromptGenerator(tiny_model, init="normal", max_new_tokens=2)
    weight = gen.model.get_input_embeddings().weight.detach().float()
    expected = float(weight.std()) / math.sqrt(10)
    assert float(gen.projection.matrix.std()) == pytest.approx(expected, rel=0.1)
    uniform = SoftPromptProjection(10, 5, 32, seed=0)
    assert uniform.matrix.min() >= -1 and uniform.matrix.max() <= 1
    assert float(uniform.matrix.abs().max()) > 0.9


def test_projection_rows_do_not_depend_on_the_batch():
    proj = SoftPromptProjection(10, 5, 64, seed=3)
    z = _z(9, seed=6)
    assert torch.equal(proj(z)[4], proj(z[4:5])[0])
    assert torch.allclose(proj(z)[2], (z[2] @ proj.matrix).view(5, 64), rtol=0, atol=1e-12)


def test_bad_inputs(generator):
    with pytest.raises(ShapeError, match="n x 10"):
        generator.generate(torch.zeros(2, 3), DEMOS)
    with pytest.raises(ShapeError, match="finite"):
        generator.generate(torch.full((1, 10), float("nan")), DEMOS)
    with pytest.raises(ConfigError, match="init"):
        SoftPromptProjection(10, 5, 8, init="sobol")


def test_cached_generator_does_not_regenerate(generator, cache, monkeypatch):
    cached = CachedGenerator(generator, cache)
    z = _z(5, seed=7)
    first = cached.generate(z, DEMOS)
    assert (cached.stats.requests, cached.stats.cache_misses) == (5, 5)
    calls = []
    monkeypatch.setattr(generator, "generate", lambda *a: calls.append(a) or [])
    again = CachedGenerator(generator, cache)
    assert again.generate(z, DEMOS) == first and calls == []
    assert (again.stats.cache_hits, again.stats.requests) == (5, 0)
    assert cache.count("instruction") == 5


def test_cached_generator_generates_only_misses_and_duplicates_once(generator, cache):
    cached = CachedGenerator(generator, cache)
    z = _z(4, seed=8)
    cached.generate(z[:2], DEMOS)
    mixed = torch.cat([z, z[3:4]])
    out = cached.generate(mixed, DEMOS)
    assert out == generator.generate(mixed, DEMOS)
    assert cached.stats.requests == 2 + 2  # z[2], z[3] new; the duplicate row generated once
    other_demos = cached.generate(z[:1], DEMOS[:2])
    assert cached.stats.requests == 5 and len(other_demos) == 1
