"""Hard caps, time-bounded retries, AIMD concurrency and permanent errors of OpenAIExecutor."""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence

import pytest

from droiz.exceptions import BackendError
from droiz.llm import CachedExecutor, Completion, ExecRequest, Executor, OpenAIExecutor
from droiz.llm import openai_executor as oe
from droiz.llm.budget import Budget, BudgetExceeded, Limits, prompt_token_bound
from droiz.llm.retry import RetryPolicy
from droiz.testing import FakeOpenAIServer
from droiz.testing import server as fake_server

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01, max_elapsed=30)


def _requests(n: int) -> list[ExecRequest]:
    return [ExecRequest("Repeat the input.", f"item-{i:03d}") for i in range(n)]


def _executor(server: FakeOpenAIServer, budget: Budget | None = None, **kw) -> OpenAIExecutor:
    kw.setdefault("retry", FAST)
    return OpenAIExecutor("fake-model", base_url=server.base_url, budget=budget, **kw)


@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_max_requests_binds_exactly_retries_included(server, cache, rate):
    server.add_transient_faults(rate, seed=3)
    budget = Budget(Limits(max_requests=23))
    ex = CachedExecutor(_executor(server, budget, concurrency=8), cache)
    with pytest.raises(BudgetExceeded, match="--max-requests cap of 23") as info:
        ex.execute(_requests(40))
    assert info.value.cap == "max_requests"
    assert server.n_requests == 23 == budget.requests == ex.stats.requests
    assert cache.count("response") == server.n_answered  # every answer paid for is kept
    server.clear_faults()
    budget.limits = Limits(max_requests=23 + 40)  # a higher cap finishes the batch
    assert ex.execute(_requests(40)) == [f"echo: item-{i:03d}" for i in range(40)]


def test_max_tokens_reserves_the_worst_case_of_requests_in_flight(server):
    prompt = _requests(1)[0].prompt
    worst = prompt_token_bound(prompt) + 8
    cap = 5 * worst + 3
    budget = Budget(Limits(max_tokens=cap))
    ex = _executor(server, budget, concurrency=4, max_tokens=8)
    with pytest.raises(BudgetExceeded, match="--max-tokens") as info:
        ex.execute(_requests(500))
    assert info.value.cap == "max_tokens"
    used = ex.stats.prompt_tokens + ex.stats.completion_tokens  # as the server reported them
    assert used == budget.tokens <= cap
    assert budget.tokens + worst > cap  # it stopped only when the next one could not fit
    assert server.n_requests == budget.requests > 5  # settled answers freed their reservation


def test_max_cost_counts_reported_tokens_at_the_given_prices(server):
    budget = Budget(Limits(max_cost=0.01))
    ex = _executor(server, budget, prices={"fake-model": (100.0, 200.0)}, max_tokens=4)
    with pytest.raises(BudgetExceeded, match=r"--max-cost cap of 0\.01 USD"):
        ex.execute(_requests(300))
    assert ex.priced and 0 < budget.cost <= 0.01
    assert budget.cost == pytest.approx(ex.stats.cost)


def test_the_cost_held_by_requests_in_flight_is_never_negative() -> None:
    budget = Budget(Limits(max_cost=10.0))
    held = [budget.reserve(1, cost) for cost in (0.844, 0.758, 0.421)]
    for reservation in reversed(held):  # these sums do not cancel exactly in floating point
        budget.settle(reservation, 1, 0.0)
    with pytest.raises(BudgetExceeded) as info:
        budget.reserve(1, 20.0)
    assert "(0.000000 USD spent, 0.000000 held by requests in flight," in str(info.value)


def test_a_server_without_usage_is_counted_by_estimate(server, monkeypatch):
    original = fake_server.completion_body

    def no_usage(body, text, prompt):
        out = original(body, text, prompt)
        out.pop("usage")
        return out

    monkeypatch.setattr(fake_server, "completion_body", no_usage)
    budget = Budget()
    ex = _executor(server, budget)
    ex.execute(["x" * 40])
    assert ex.stats.prompt_tokens == 10 and budget.tokens > 10  # 40 characters ~ 10 tokens


def test_retries_are_bounded_by_time_not_by_a_small_count(server, monkeypatch):
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(oe, "_sleep", fake_sleep)
    server.add_fault("503", times=10**6)
    retry = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=0.0, max_elapsed=30)
    with pytest.raises(BackendError, match=r"HTTP 503 \(gave up after 9 attempts in 27 s\)"):
        _executor(server, retry=retry).execute(["x"])
    assert waits == [1, 2, 4, 4, 4, 4, 4, 4] and server.n_requests == 9


def test_the_default_policy_outlasts_40_transient_faults_in_a_row(server, monkeypatch):
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:  # the policy counts the waits: skip them
        waits.append(seconds)

    monkeypatch.setattr(oe, "_sleep", fake_sleep)
    server.add_fault("500", times=40)  # 0.6**40 ~ 1e-9: a run at 60 % faults sees no such streak
    ex = OpenAIExecutor("fake-model", base_url=server.base_url)  # RetryPolicy() as it comes
    assert ex.execute(["x"]) == ["echo: x"]
    assert server.n_requests == 41 and len(waits) == 40 and max(waits) <= 10 * 1.5
    assert sum(waits) <= RetryPolicy().max_elapsed


def test_retry_after_zero_still_waits_the_minimum(server, monkeypatch):
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(oe, "_sleep", fake_sleep)
    server.add_fault("429", times=3, retry_after=0)
    retry = RetryPolicy(base_delay=0.2, jitter=0.0)
    assert _executor(server, retry=retry).execute(["x"]) == ["echo: x"]
    assert waits == [0.2, 0.2, 0.2]


@pytest.mark.parametrize("kind", ["502", "reset", "bad_json"])
def test_torn_connections_and_bad_gateways_are_retried(server, kind):
    server.add_fault(kind, times=2, per_prompt=True)
    ex = _executor(server, concurrency=3)
    assert ex.execute(_requests(6)) == [f"echo: item-{i:03d}" for i in range(6)]
    assert server.n_requests == 18 and ex.stats.retries == 12


def test_persistent_429s_halve_the_concurrency_and_it_recovers(server):
    server.add_fault("429", times=60, retry_after=0)
    ex = _executor(server, concurrency=16)
    assert len(ex.execute(_requests(400))) == 400
    assert ex.limiter.lowest <= 4  # halved at least twice while the 429s lasted
    assert ex.limiter.slots == 16  # and back to the full concurrency once they stopped


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("401", "refused the API key: put a valid key in the environment variable DROIZ_T_KEY"),
        ("403", "refused the API key"),
        ("context", "longer than the model's context window"),
        ("400", "the server refused the request"),
    ],
)
def test_permanent_errors_stop_at_once_and_say_what_to_do(server, monkeypatch, kind, expected):
    monkeypatch.setenv("DROIZ_T_KEY", "sk-test-secret-123")
    server.add_fault(kind, times=10**6)
    ex = _executor(server, api_key_env="DROIZ_T_KEY", concurrency=1)
    with pytest.raises(BackendError, match=expected) as info:
        ex.execute(_requests(5))
    assert server.n_requests == 1 and "sk-test-secret-123" not in str(info.value)


def test_unknown_model_lists_what_the_server_offers():
    with FakeOpenAIServer(models=["llama3.1:8b", "qwen2.5:7b"]) as server:
        offers = re.escape("offers: llama3.1:8b, qwen2.5:7b")
        with pytest.raises(BackendError, match=offers) as info:
            _executor(server).execute(["x"])
        assert "no model 'fake-model'" in str(info.value) and server.n_requests == 1
        ok = OpenAIExecutor("qwen2.5:7b", base_url=server.base_url, retry=FAST)
        assert ok.execute(["x"]) == ["echo: x"]


def test_an_unreachable_endpoint_fails_at_once():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    ex = OpenAIExecutor("m", base_url=f"http://user:pw@127.0.0.1:{port}/v1", retry=FAST)
    with pytest.raises(BackendError, match=re.escape("cannot reach http://127.0.0.1")) as info:
        ex.execute(["x"])
    assert "pw" not in str(info.value)


class _Forgetful(Executor):
    """An executor that loses its last answer (the contract says it must raise instead)."""

    model, fingerprint = "forgetful", "forgetful#0"

    def __init__(self) -> None:
        from droiz.llm import LLMStats

        self.stats = LLMStats()

    def complete(self, requests: Sequence[ExecRequest], on_result=None) -> list[Completion]:
        out = [Completion(r.prompt) for r in requests[:-1]]
        for i, c in enumerate(out):
            if on_result is not None:
                on_result(i, c)
        return out


def test_a_missing_answer_raises_instead_of_shifting_the_results(cache):
    with pytest.raises(BackendError, match="answers"):
        CachedExecutor(_Forgetful(), cache).execute(["a", "b", "c"])


def test_one_executor_serves_batches_from_several_threads_at_once(server):
    from concurrent.futures import ThreadPoolExecutor

    ex = _executor(server, concurrency=4)
    batches = [[ExecRequest("Repeat.", f"t{t}-{i}") for i in range(30)] for t in range(3)]
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(ex.execute, batches))
    assert answers == [[f"echo: t{t}-{i}" for i in range(30)] for t in range(3)]
    assert server.n_requests == 90
