"""Spec strings, lazy imports, the sync facade and the sentence embedder."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading

import pytest

from droiz.exceptions import ConfigError, UnknownNameError
from droiz.llm import (
    APIProposer,
    CachedExecutor,
    CachedGenerator,
    HFExecutor,
    HFSoftPromptGenerator,
    OpenAIExecutor,
    PoolGenerator,
    as_requests,
    make_executor,
    make_generator,
    parse_spec,
)


def test_specs_build_every_kind(tmp_path, tiny_model, server, cache):
    pool_file = tmp_path / "pool.txt"
    pool_file.write_text("a\nb\n")
    assert isinstance(make_generator(f"hf:{tiny_model}", max_new_tokens=2), HFSoftPromptGenerator)
    assert isinstance(make_generator(f"pool:{pool_file}", seed=2), PoolGenerator)
    api = make_generator("api:gpt-x", base_url=server.base_url, n_demos=2)
    assert isinstance(api, APIProposer) and api.executor.model == "gpt-x"
    ex = make_executor("openai:gpt-x", base_url=server.base_url, concurrency=3)
    assert isinstance(ex, OpenAIExecutor) and ex.concurrency == 3
    assert isinstance(make_executor(f"hf:{tiny_model}"), HFExecutor)


def test_cache_option_wraps_and_reaches_the_proposer(server, cache):
    gen = make_generator("api:gpt-x", base_url=server.base_url, cache=cache)
    assert isinstance(gen, CachedGenerator) and isinstance(gen.inner.executor, CachedExecutor)
    ex = make_executor("openai:gpt-x", base_url=server.base_url, cache=cache)
    assert isinstance(ex, CachedExecutor) and ex.cache is cache


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("vicuna", "expected KIND:VALUE with KIND one of api, hf, pool"),
        ("hf:", "nothing after 'hf:'"),
        (":path", "expected KIND:VALUE"),
    ],
)
def test_bad_generator_specs(spec, message):
    with pytest.raises(ConfigError, match=message) as info:
        make_generator(spec)
    assert "\n" not in str(info.value)


def test_unknown_kind_suggests_a_close_name():
    with pytest.raises(UnknownNameError, match="did you mean 'pool'"):
        parse_spec("poll:file.txt", "generator")
    with pytest.raises(UnknownNameError, match="did you mean 'openai'"):
        make_executor("opanai:gpt-4o")


def test_unknown_options_are_named(server):
    with pytest.raises(ConfigError, match=r"does not take option.*temprature"):
        make_executor("openai:m", base_url=server.base_url, temprature=0.5)
    with pytest.raises(ConfigError, match=r"does not take option.*bogus"):
        make_generator("api:m", base_url=server.base_url, bogus=1)


def test_spec_splits_at_the_first_colon_only():
    assert parse_spec("hf:C:/models/vicuna", "generator") == ("hf", "C:/models/vicuna")
    assert parse_spec("openai:ollama/llama3:8b", "executor") == ("openai", "ollama/llama3:8b")


def test_importing_droiz_llm_imports_no_heavy_backend():
    code = (
        "import sys, json, droiz.llm, droiz.testing\n"
        "heavy = ['transformers', 'openai', 'sentence_transformers', 'tokenizers', 'httpx']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_execute_works_from_a_thread_and_inside_a_running_loop(server):
    ex = OpenAIExecutor("m", base_url=server.base_url)
    box: list[list[str]] = []
    thread = threading.Thread(target=lambda: box.append(ex.execute(["from thread"])))
    thread.start()
    thread.join()

    async def inside_loop() -> list[str]:
        sync_answer = ex.execute(["sync in loop"])  # blocks this loop, runs on a helper thread
        async_answer = [c.text for c in await ex.acomplete(as_requests(["async"]))]
        return sync_answer + async_answer

    assert box == [["echo: from thread"]]
    assert asyncio.run(inside_loop()) == ["echo: sync in loop", "echo: async"]


@pytest.mark.slow
def test_sentence_embedder_runs_offline_and_ranks_similar_texts_higher():
    code = (
        "import json, torch\n"
        "from droiz.llm import SentenceEmbedder\n"
        "e = SentenceEmbedder()\n"
        "x = e.embed(['Write the antonym of the word.', 'Give the opposite of the given word.',"
        " 'Sort the numbers in increasing order.', 'Write the antonym of the word.'])\n"
        "print(json.dumps({'dtype': str(x.dtype), 'shape': list(x.shape), 'dim': e.dim,"
        " 'norms': x.norm(dim=-1).tolist(), 'sim': (x @ x.T).tolist(), 'memo': len(e._memo),"
        " 'empty': list(e.embed([]).shape)}))\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["dtype"] == "torch.float64" and res["shape"] == [4, 384] and res["dim"] == 384
    assert all(abs(n - 1) < 1e-12 for n in res["norms"])
    sim = res["sim"]
    assert sim[0][1] > sim[0][2] + 0.3 and sim[0][1] > sim[1][2] + 0.3
    assert sim[0][3] == pytest.approx(1.0) and res["memo"] == 3 and res["empty"] == [0, 384]
