"""The executors' conformance checks: the contract every registered executor must keep.

Run them on an executor of your own with :func:`check_executor`::

    from droiz.testing import check_executor

    def test_my_executor_keeps_the_contract():
        import my_executors  # registers "mine" with @droiz.llm.register_executor("mine")

        check_executor("mine:my-model")

Each check builds the executor the way a run does (:func:`droiz.llm.backends.build_executor`)
and raises ``AssertionError`` with a one-line reason when the contract breaks. An HTTP executor
(``capabilities.http``) is pointed at a loopback :class:`~droiz.testing.FakeOpenAIServer`, with an
API key in a variable of its own; an in-process one runs as it is.

* :func:`check_declaration`: the class declares :class:`~droiz.llm.Capabilities` its constructor
  honours (the answer-length option with an integer default; endpoint, budget and cache namespace
  for an HTTP executor; prices for a priced one), accepts the spec's value, and is built without
  sending a request;
* :func:`check_answers`: one answer per request, in the order of the requests (an HTTP executor
  returns the server's answer to each), each passed once to ``on_result``; an empty batch sends
  nothing;
* :func:`check_fingerprint`: the same settings give the same fingerprint and the same answers;
  another answer length (and, over HTTP, another cache namespace) gives another fingerprint; it
  holds neither the endpoint nor the key;
* :func:`check_caching`: in a :class:`~droiz.llm.CachedExecutor`, a repeated batch is served from
  the cache (same texts, marked ``cached``, counted as hits, nothing sent);
* :func:`check_usage`: the counters grow by the requests sent and by the tokens the answers
  report;
* :func:`check_caps` (HTTP): a :class:`~droiz.llm.budget.Budget` cap stops the batch with
  :class:`~droiz.llm.budget.BudgetExceeded`, no request beyond it is sent, and every answer that
  came back reached ``on_result`` first;
* :func:`check_errors` (HTTP): a throttled request (429) is retried and answered; a rejected key
  (401) and an unknown model (404) raise :class:`~droiz.exceptions.BackendError` in one line that
  does not show the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from droiz.exceptions import BackendError
from droiz.llm.backends import build_executor
from droiz.llm.base import Completion, ExecRequest, Executor, option_default, token_limit
from droiz.llm.budget import Budget, BudgetExceeded, Limits
from droiz.llm.cache import ResponseCache
from droiz.llm.cached import CachedExecutor
from droiz.llm.checks import constructor_options
from droiz.llm.factory import spec_class
from droiz.llm.stats import LLMStats
from droiz.testing.server import FakeOpenAIServer

KEY_ENV = "DROIZ_CONFORMANCE_API_KEY"
"""The environment variable that holds the checks' API key while they run."""

REQUESTS = tuple(
    ExecRequest(instruction, x)
    for instruction in ("Write the antonym of the word.", "Repeat the word.")
    for x in ("hot", "tall", "open")
)
"""The batch the checks send: six distinct prompts in the default template."""

HTTP_OPTIONS = ("base_url", "api_key_env", "budget", "cache_namespace", "concurrency")
"""What the constructor of an HTTP executor takes (see :class:`~droiz.llm.Capabilities`)."""


def scripted_answer(prompt: str, body: Mapping[str, Any] | None = None) -> str:
    """The fake server's answer to ``prompt``: a digest of it, so that answers name their
    requests."""
    return "answer " + hashlib.sha256(prompt.encode()).hexdigest()[:12]


class _Setup:
    """One check's environment: the spec, its class and options, and the fake server (HTTP)."""

    def __init__(self, spec: str, options: Mapping[str, Any], server: FakeOpenAIServer | None):
        self.spec, self.options, self.server = spec, dict(options), server
        self.cls, self.value = spec_class(spec, "executor")

    @property
    def http(self) -> bool:
        return bool(self.cls.capabilities.http)

    def build(self, **settings: Any) -> Executor:
        """The executor as a run builds it, pointed at the server when it is an HTTP one."""
        if self.server is not None:
            settings = {"base_url": self.server.base_url, "api_key_env": KEY_ENV, **settings}
        return build_executor(self.spec, cache=None, options=self.options, **settings)

    def sent(self) -> int:
        """Requests the server received so far (0 for an in-process executor)."""
        return self.server.n_requests if self.server is not None else 0


@contextlib.contextmanager
def _setup(spec: str, options: Mapping[str, Any]) -> Iterator[_Setup]:
    cls, _ = spec_class(spec, "executor")
    if not cls.capabilities.http:
        yield _Setup(spec, options, None)
        return
    old = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = "sk-conformance-" + secrets.token_hex(8)
    try:
        with FakeOpenAIServer(answer=_delayed) as server:
            yield _Setup(spec, options, server)
    finally:
        if old is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = old


def _delayed(prompt: str, body: Mapping[str, Any]) -> str:
    """:func:`scripted_answer`, the sooner the later its prompt comes in :data:`REQUESTS`, so a
    concurrent executor receives its answers out of order."""
    order = [r.prompt for r in REQUESTS]
    if prompt in order:
        time.sleep(0.002 * (len(order) - order.index(prompt)))
    return scripted_answer(prompt, body)


def _complete(
    executor: Executor, requests: Sequence[ExecRequest]
) -> tuple[list[Completion], dict[int, Completion]]:
    """``complete`` with an ``on_result`` that records each index once (a repeat fails)."""
    seen: dict[int, Completion] = {}

    def on_result(index: int, completion: Completion) -> None:
        assert index not in seen, f"on_result got request {index} twice"
        assert 0 <= index < len(requests), f"on_result got index {index} of {len(requests)}"
        seen[index] = completion

    return executor.complete(list(requests), on_result), seen


def check_declaration(spec: str, **options: Any) -> None:
    """The class's :class:`~droiz.llm.Capabilities` match its constructor; the spec's value
    passes its check; building sends nothing."""
    with _setup(spec, options) as s:
        caps = s.cls.capabilities
        assert issubclass(s.cls, Executor), f"{s.cls.__name__} is not a droiz.llm.Executor"
        names, takes_any = constructor_options(s.cls)
        if caps.token_option is not None:
            assert caps.token_option in names, (
                f"the answer-length option {caps.token_option!r} is not a constructor option"
            )
            default = option_default(s.cls, caps.token_option)
            assert isinstance(default, int) and default >= 1, (
                f"the default of {caps.token_option!r} must be an integer >= 1, got {default!r}"
            )
        wanted = [*(HTTP_OPTIONS if caps.http else ()), *(("prices",) if caps.priced else ())]
        missing = [n for n in wanted if n not in names and not takes_any]
        assert not missing, f"the constructor lacks what its capabilities promise: {missing}"
        s.cls.check_value(s.value, "--executor")
        executor = s.build()
        assert s.sent() == 0, f"building the executor sent {s.sent()} request(s)"
        assert isinstance(executor.model, str) and executor.model, "executor.model must be a name"
        assert isinstance(executor.stats, LLMStats), "executor.stats must be an LLMStats"
        assert float(executor.temperature) >= 0, "executor.temperature must be >= 0"


def check_answers(spec: str, **options: Any) -> None:
    """One answer per request, in request order, each passed once to ``on_result``."""
    with _setup(spec, options) as s:
        executor = s.build()
        assert executor.complete([]) == [], "an empty batch must give []"
        assert s.sent() == 0, "an empty batch must send nothing"
        answers, seen = _complete(executor, REQUESTS)
        assert len(answers) == len(REQUESTS), f"{len(answers)} answers for {len(REQUESTS)}"
        assert all(isinstance(a, Completion) for a in answers), "complete() must give Completions"
        assert sorted(seen) == list(range(len(REQUESTS))), "on_result missed a request"
        assert all(seen[i] == a for i, a in enumerate(answers)), "on_result got another answer"
        if s.server is not None:
            want = [scripted_answer(r.prompt) for r in REQUESTS]
            got = [a.text for a in answers]
            assert got == want, f"answers out of order or altered: {got} != {want}"
        backwards, _ = _complete(executor, REQUESTS[::-1])
        texts = [a.text for a in answers]
        assert [a.text for a in backwards] == texts[::-1], "answers follow the batch's order"
        assert executor.execute(list(REQUESTS[:2])) == texts[:2], "execute() gives the texts"


def check_fingerprint(spec: str, **options: Any) -> None:
    """Same settings, same fingerprint and answers; the answer length and the cache namespace
    change it; no endpoint or key in it."""
    with _setup(spec, options) as s:
        first, second = s.build(), s.build()
        fp = first.fingerprint
        assert isinstance(fp, str) and fp, "the fingerprint must be a non-empty string"
        assert second.fingerprint == fp, "two executors with the same settings differ"
        assert first.execute(list(REQUESTS)) == second.execute(list(REQUESTS)), (
            "two executors with the same settings answer differently"
        )
        limit = token_limit(s.cls, s.options)
        if limit is not None:
            longer = s.build(max_answer_tokens=limit + 1).fingerprint
            assert longer != fp, "the answer-length limit must be part of the fingerprint"
        if s.server is not None:
            a = s.build(cache_namespace="conformance-a").fingerprint
            b = s.build(cache_namespace="conformance-b").fingerprint
            assert a != b, "the cache namespace must be part of the fingerprint"
            assert s.server.base_url not in fp, "the fingerprint must not hold the endpoint"
            assert os.environ[KEY_ENV] not in fp + repr(first), "the key leaks into the executor"


def check_caching(spec: str, **options: Any) -> None:
    """A repeated batch is served from the response cache: same texts, nothing sent."""
    with (
        _setup(spec, options) as s,
        tempfile.TemporaryDirectory() as tmp,
        ResponseCache(tmp) as cache,
    ):
        executor = CachedExecutor(s.build(), cache)
        first, _ = _complete(executor, REQUESTS)
        sent, hits = s.sent(), executor.stats.snapshot().cache_hits
        again, seen = _complete(executor, REQUESTS)
        assert [a.text for a in again] == [a.text for a in first], "cached answers differ"
        assert all(a.cached for a in again), "answers from the cache must say cached=True"
        assert len(seen) == len(REQUESTS), "cached answers must reach on_result too"
        assert s.sent() == sent, "a cached batch sent requests"
        hits = executor.stats.snapshot().cache_hits - hits
        assert hits == len(REQUESTS), f"{hits} cache hits counted for {len(REQUESTS)}"


def check_usage(spec: str, **options: Any) -> None:
    """The counters grow by the requests sent and by the tokens the answers report."""
    with _setup(spec, options) as s:
        executor = s.build()
        before = executor.stats.snapshot()
        answers = executor.complete(list(REQUESTS))
        used = executor.stats.snapshot() - before
        n = len(REQUESTS)
        assert used.requests == n, f"{used.requests} requests counted for {n}"
        if s.server is not None:
            assert s.sent() == len(REQUESTS), f"{s.sent()} requests sent for {len(REQUESTS)}"
        for field in ("prompt_tokens", "completion_tokens"):
            total = sum(getattr(a, field) for a in answers)
            assert all(getattr(a, field) >= 0 for a in answers), f"negative {field}"
            assert getattr(used, field) == total, f"{field}: counted {getattr(used, field)}"


def check_caps(spec: str, **options: Any) -> None:
    """An HTTP executor stops at a budget cap: no request beyond it, no answer lost."""
    with _setup(spec, options) as s:
        if s.server is None:
            return
        budget = Budget(Limits(max_requests=2))
        executor = s.build(budget=budget)
        seen: dict[int, Completion] = {}
        try:
            executor.complete(list(REQUESTS), lambda i, c: seen.setdefault(i, c))
        except BudgetExceeded as exc:
            assert exc.cap == "max_requests", f"the cap hit is {exc.cap!r}, not max_requests"
        else:
            raise AssertionError("a batch of 6 under max_requests=2 did not raise BudgetExceeded")
        assert s.sent() <= 2, f"{s.sent()} requests sent under max_requests=2"
        assert budget.usage()["budget_requests"] == s.sent(), "the budget miscounts requests"
        assert len(seen) == s.server.n_answered, "an answer that came back missed on_result"


def check_errors(spec: str, **options: Any) -> None:
    """A 429 is retried; a rejected key (401) or an unknown model (404) is a one-line
    :class:`~droiz.exceptions.BackendError` that does not show the key."""
    with _setup(spec, options) as s:
        if s.server is None:
            return
        executor = s.build()
        s.server.add_fault("429", times=1, retry_after=0)
        texts = executor.execute(list(REQUESTS[:1]))
        assert texts == [scripted_answer(REQUESTS[0].prompt)], "a 429 was not retried"
        for fault in ("401", "404"):
            s.server.clear_faults()
            s.server.add_fault(fault, times=1)
            try:
                executor.execute(["a request the server refuses"])
            except BackendError as exc:
                message = str(exc)
            else:
                raise AssertionError(f"an HTTP {fault} did not raise BackendError")
            assert "\n" not in message, f"the {fault} message is not one line: {message!r}"
            assert os.environ[KEY_ENV] not in message, f"the {fault} message shows the key"


EXECUTOR_CHECKS: tuple[Callable[..., None], ...] = (
    check_declaration,
    check_answers,
    check_fingerprint,
    check_caching,
    check_usage,
    check_caps,
    check_errors,
)
"""Every check, in the order :func:`check_executor` runs them."""


def check_executor(spec: str, **options: Any) -> None:
    """Run every conformance check on the executor that ``spec`` (``KIND:VALUE``) builds with
    ``options`` (its constructor options, e.g. ``max_new_tokens=4`` for a fast local model).

    Raises:
        AssertionError: A check failed (the message names the broken promise).
    """
    for check in EXECUTOR_CHECKS:
        check(spec, **options)
