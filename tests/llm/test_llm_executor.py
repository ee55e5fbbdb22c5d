"""OpenAIExecutor against loopback servers: order, flavours, faults, retries, caching."""

from __future__ import annotations

import pytest

from droiz.exceptions import BackendError, ConfigError
from droiz.llm import CachedExecutor, ExecRequest, OpenAIExecutor, ResponseCache, RetryPolicy
from droiz.llm import openai_executor as oe
from droiz.testing import FakeOpenAIServer, parse_default_prompt


def _requests(n: int, instruction: str = "Repeat the input.") -> list[ExecRequest]:
    return [ExecRequest(instruction, f"item-{i:02d}") for i in range(n)]


def _executor(server: FakeOpenAIServer, retry: RetryPolicy, **kw: object) -> OpenAIExecutor:
    return OpenAIExecutor("fake-model", base_url=server.base_url, retry=retry, **kw)


def test_answers_come_back_in_order_with_the_default_template(server, fast_retry):
    answers = _executor(server, fast_retry, concurrency=4).execute(_requests(12))
    assert answers == [f"echo: item-{i:02d}" for i in range(12)]
    body = server.bodies[0]
    assert body["messages"][-1]["content"].startswith("Instruction: Repeat the input.\n\nInput: ")
    assert body["messages"][-1]["content"].endswith("\n\nOutput:")
    assert body["temperature"] == 0 and body["model"] == "fake-model"


def test_completions_flavour_and_per_request_template(server, fast_retry):
    ex = _executor(server, fast_retry, flavour="completions", stop=["\n"])
    req = ExecRequest("Negate.", "I am", template="[PROMPT]\n\nQ: [INPUT]\nA:")
    answers = ex.execute([req, "raw prompt text"])
    assert answers == ["echo: Negate.\n\nQ: I am\nA:", "echo: raw prompt text"]
    prompts = sorted(body["prompt"] for body in server.bodies)  # arrival order may vary
    assert prompts == ["Negate.\n\nQ: I am\nA:", "raw prompt text"]
    assert all(body["stop"] == ["\n"] and "messages" not in body for body in server.bodies)


@pytest.mark.parametrize("kind", ["429", "500", "503", "bad_json", "no_choices", "null_content"])
def test_transient_faults_lose_no_examples(server, fast_retry, kind):
    server.add_fault(kind, times=2, per_prompt=True, match="item-0")  # items 00..09 fail twice
    ex = _executor(server, fast_retry, concurrency=8)
    assert ex.execute(_requests(15)) == [f"echo: item-{i:02d}" for i in range(15)]
    assert server.n_requests == 15 + 2 * 10
    assert ex.stats.retries == 20 and ex.stats.requests == 35


def test_timeouts_are_retried(server, fast_retry):
    server.add_fault("slow", times=1, match="item-01", delay=5.0)
    ex = _executor(server, fast_retry, timeout=0.5)
    assert ex.execute(_requests(3)) == ["echo: item-00", "echo: item-01", "echo: item-02"]
    assert ex.stats.retries >= 1 and server.n_requests >= 4


def test_all_faults_at_once_still_give_every_answer(server, fast_retry):
    for kind in ("429", "500", "bad_json", "no_choices", "null_content"):
        server.add_fault(kind, times=1, per_prompt=True, match="item-0")
    server.add_fault("slow", times=1, match="item-11", delay=5.0)
    retry = RetryPolicy(max_retries=7, base_delay=0.001, max_delay=0.01)
    ex = _executor(server, retry, timeout=0.5, concurrency=6)
    assert ex.execute(_requests(14)) == [f"echo: item-{i:02d}" for i in range(14)]


def test_retry_after_is_honoured(server, monkeypatch):
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(oe, "_sleep", fake_sleep)
    server.add_fault("429", times=1, retry_after=7.5)
    server.add_fault("500", times=1)
    retry = RetryPolicy(max_retries=3, base_delay=0.25, jitter=0.0, max_retry_after=60)
    assert _executor(server, retry).execute(["hello"]) == ["echo: hello"]
    assert waits == [7.5, 0.5]  # Retry-After, then base_delay * 2**1 without jitter


def test_persistent_fault_raises_clear_error_and_keeps_answers(server, fast_retry, cache):
    server.add_fault("500", times=1000, match="item-03")
    ex = CachedExecutor(_executor(server, fast_retry, concurrency=2), cache)
    with pytest.raises(BackendError) as info:
        ex.execute(_requests(8))
    message = str(info.value)
    assert "fake-model" in message and "request 3" in message and "HTTP 500" in message
    assert "6 attempts" in message
    answered = server.n_answered
    assert answered >= 1 and cache.count("response") == answered
    server.clear_faults()
    server.reset_counts()
    assert ex.execute(_requests(8)) == [f"echo: item-{i:02d}" for i in range(8)]
    assert server.n_requests == 8 - answered


def test_malformed_response_reported_after_retries(server, fast_retry):
    server.add_fault("no_choices", times=1000)
    with pytest.raises(
        BackendError, match=r"request 0 failed: malformed response: missing 'choices'"
    ):
        _executor(server, fast_retry).execute(["x"])
    assert server.n_requests == fast_retry.max_retries + 1


def test_permanent_http_error_is_not_retried(server, fast_retry):
    server.add_fault("401", times=1000)
    with pytest.raises(BackendError, match="HTTP 401"):
        _executor(server, fast_retry).execute(["x"])
    assert server.n_requests == 1


def test_second_identical_execute_sends_zero_requests(server, fast_retry, tmp_path):
    with ResponseCache(tmp_path / "c") as cache:
        first = CachedExecutor(_executor(server, fast_retry), cache).execute(_requests(6))
    assert server.n_requests == 6
    with ResponseCache(tmp_path / "c") as cache:  # a new run, same cache directory
        ex = CachedExecutor(_executor(server, fast_retry), cache)
        assert ex.execute(_requests(6)) == first
    assert server.n_requests == 6
    assert (ex.stats.requests, ex.stats.cache_hits, ex.stats.cache_misses) == (0, 6, 0)


def test_duplicates_in_one_batch_are_sent_once(server, fast_retry, cache):
    ex = CachedExecutor(_executor(server, fast_retry), cache)
    reqs = _requests(3) + _requests(3)
    assert ex.execute(reqs) == [f"echo: item-{i:02d}" for i in (0, 1, 2, 0, 1, 2)]
    assert server.n_requests == 3
    assert (ex.stats.cache_hits, ex.stats.cache_misses) == (3, 3)


def test_namespaces_separate_servers_with_the_same_model_name(fast_retry, cache):
    with FakeOpenAIServer(lambda p, b: "A") as a, FakeOpenAIServer(lambda p, b: "B") as b:
        ex_a = CachedExecutor(_executor(a, fast_retry), cache)
        ex_b = CachedExecutor(_executor(b, fast_retry), cache)
        assert ex_a.execute(["q"]) == ["A"] and ex_b.execute(["q"]) == ["B"]
        assert ex_a.fingerprint != ex_b.fingerprint
        shared = CachedExecutor(
            _executor(b, fast_retry, cache_namespace=ex_a.inner.namespace), cache
        )
        assert shared.execute(["q"]) == ["A"]  # an explicit namespace shares a's entries
        assert (a.n_requests, b.n_requests) == (1, 1)


def test_sampled_outputs_are_cached_only_with_a_sample_index(fast_retry, cache):
    counter = iter(range(1000))
    with FakeOpenAIServer(lambda p, b: f"s{next(counter)}") as srv:
        ex = CachedExecutor(_executor(srv, fast_retry, temperature=0.8, concurrency=1), cache)
        no_index = [ExecRequest.raw("q"), ExecRequest.raw("q")]
        assert ex.execute(no_index) == ["s0", "s1"]  # never cached, never merged
        indexed = [ExecRequest.raw("q", sample=0), ExecRequest.raw("q", sample=1)]
        assert ex.execute(indexed) == ["s2", "s3"]
        assert ex.execute(indexed[::-1]) == ["s3", "s2"]
        assert srv.n_requests == 4 and cache.count() == 2


def test_sample_index_is_ignored_at_temperature_zero(server, fast_retry, cache):
    ex = CachedExecutor(_executor(server, fast_retry), cache)
    ex.execute([ExecRequest.raw("q", sample=0), ExecRequest.raw("q", sample=5)])
    assert server.n_requests == 1


def test_fingerprint_tracks_parameters_not_secrets(server, fast_retry, monkeypatch):
    base = _executor(server, fast_retry).fingerprint
    assert _executor(server, fast_retry, max_tokens=7).fingerprint != base
    assert _executor(server, fast_retry, flavour="completions").fingerprint != base
    assert _executor(server, fast_retry, concurrency=3, timeout=5).fingerprint == base
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    assert _executor(server, fast_retry).fingerprint == base


def test_usage_and_cost_are_counted(server, fast_retry):
    ex = _executor(server, fast_retry, prices={"fake-model": (2.0, 10.0)})
    ex.execute([ExecRequest.raw("one two three"), ExecRequest.raw("four")])
    # The fake server counts whitespace tokens: prompts 3 + 1, answers "echo: ..." 4 + 2.
    assert (ex.stats.prompt_tokens, ex.stats.completion_tokens) == (4, 6)
    assert ex.stats.cost == pytest.approx((4 * 2.0 + 6 * 10.0) / 1e6)


def test_openai_without_key_or_base_url_is_a_config_error(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(ConfigError, match="MY_KEY"):
        OpenAIExecutor("gpt-4o-mini", api_key_env="MY_KEY")


def test_empty_request_list(server, fast_retry):
    assert _executor(server, fast_retry).execute([]) == []
    assert server.n_requests == 0


def test_local_server_without_key_gets_a_placeholder(server, fast_retry, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert _executor(server, fast_retry).execute(["x"]) == ["echo: x"]
    assert server.auth_headers == ["Bearer droiz-no-key"]


def test_answer_function_can_grade_the_instruction(fast_retry):
    antonyms = {"hot": "cold", "up": "down"}

    def answer(prompt: str, body: dict) -> str:
        instruction, x = parse_default_prompt(prompt)
        return antonyms[x] if "antonym" in instruction.lower() else x

    with FakeOpenAIServer(answer) as srv:
        ex = _executor(srv, fast_retry)
        good = [ExecRequest("Give the antonym.", x) for x in antonyms]
        bad = [ExecRequest("Repeat the word.", x) for x in antonyms]
        assert ex.execute(good + bad) == ["cold", "down", "hot", "up"]


def test_a_failing_answer_function_is_reported_as_http_500(fast_retry):
    def broken(prompt: str, body: dict) -> str:
        raise KeyError("no such example")

    with FakeOpenAIServer(broken) as srv:
        with pytest.raises(BackendError, match="HTTP 500"):
            _executor(srv, fast_retry).execute(["x"])
        assert srv.n_requests == fast_retry.max_retries + 1 and srv.n_answered == 0
