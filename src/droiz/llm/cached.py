"""Cache wrappers: :class:`CachedExecutor` and :class:`CachedGenerator`."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from droiz._killpoint import kill_point
from droiz.exceptions import BackendError
from droiz.llm.base import (
    Completion,
    ExecRequest,
    Executor,
    Generator,
    OnResult,
    check_z,
)
from droiz.llm.cache import Claim, ResponseCache, instruction_key, response_key
from droiz.llm.prompts import Demo
from droiz.llm.stats import LLMStats

logger = logging.getLogger(__name__)
_POLL = (0.01, 0.25)
"""Seconds between looks for answers another process is fetching: the first, the longest."""


class CachedExecutor(Executor):
    """Serves answers from a :class:`ResponseCache` and sends only the misses to ``executor``.

    Identical requests within one batch are sent once, and so are identical requests of other
    processes on the same cache: a miss is leased first (:meth:`ResponseCache.claim`), and a miss
    that another live process has leased is waited for (its answer is read from the cache as it
    arrives) instead of being sent again; its lease is taken over when that process dies. Each
    request costs one cache lookup, and an answer that was not sent says so
    (``Completion.cached``). Every answer is written to the cache the moment it arrives, so
    answers obtained before a :class:`~droiz.exceptions.BackendError` are kept. At temperature
    > 0 only requests with a ``sample`` index are cached (the index is part of the key); others
    always go to the model. Hits and misses are counted on the executor's own :class:`LLMStats`,
    which this wrapper shares (``cached.stats is executor.stats``).

    Args:
        executor: The executor to wrap.
        cache: The response cache.
    """

    def __init__(self, executor: Executor, cache: ResponseCache) -> None:
        self.inner = executor
        self.cache = cache
        self.model = executor.model
        self.stats = executor.stats
        self.temperature = executor.temperature

    def __repr__(self) -> str:
        return f"CachedExecutor({self.inner!r}, {self.cache!r})"

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def key_for(self, request: ExecRequest) -> str | None:
        """The cache key of ``request``, or ``None`` when its answer must not be cached."""
        if self.temperature > 0:
            if request.sample is None:
                return None
            return response_key(self.fingerprint, request.prompt, request.sample)
        return response_key(self.fingerprint, request.prompt)

    def complete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        keys = [self.key_for(r) for r in requests]
        found = self.cache.get_many(k for k in keys if k is not None)
        results: list[Completion | None] = [None] * len(requests)
        groups: dict[object, list[int]] = {}
        for i, key in enumerate(keys):
            if key is not None and key in found:
                hit = results[i] = Completion(found[key], cached=True)
                if on_result is not None:
                    on_result(i, hit)
            else:
                groups.setdefault(key if key is not None else ("uncached", i), []).append(i)
        self.stats.add(cache_hits=len(requests) - len(groups))
        if groups:
            _Fill(self, requests, groups, results, on_result).run()
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:  # an executor that returned without raising must have answered everything
            raise BackendError(
                f"[{self.model}] {len(missing)} of {len(requests)} answers are missing (first: "
                f"request {missing[0]}); the executor returned without them"
            )
        return [r for r in results if r is not None]


@dataclass
class _Fill:
    """The misses of one :meth:`CachedExecutor.complete` call: one request per group of
    identical misses, sent here or waited for while another process sends it."""

    owner: CachedExecutor
    requests: Sequence[ExecRequest]
    groups: dict[object, list[int]]
    results: list[Completion | None]
    on_result: OnResult | None

    def run(self) -> None:
        cache = self.owner.cache
        keys = [k for k in self.groups if isinstance(k, str)]
        claim = cache.claim(keys) if keys else Claim()
        self._deliver_found(claim.found)
        self._send([k for k in self.groups if not isinstance(k, str)] + claim.mine)
        if claim.waiting:
            self._wait(claim.waiting)

    def _deliver(self, key: object, completion: Completion) -> None:
        """``completion`` to every request of the group ``key`` (later ones as cached)."""
        for n, i in enumerate(self.groups[key]):
            answer = completion if n == 0 else dataclasses.replace(completion, cached=True)
            self.results[i] = answer
            if self.on_result is not None:
                self.on_result(i, answer)

    def _deliver_found(self, found: dict[str, str]) -> None:
        """Answers another process stored meanwhile (free for this one: cache hits)."""
        self.owner.stats.add(cache_hits=len(found))
        for key, text in found.items():
            self._deliver(key, Completion(text, cached=True))

    def _send(self, keys: list[Any]) -> None:
        """Send one request per group ``keys``; store each answer as it arrives (releasing its
        lease); give back the leases of those left unanswered."""
        if not keys:
            return
        owner = self.owner
        owner.stats.add(cache_misses=len(keys))

        def store(j: int, completion: Completion) -> None:
            if isinstance(keys[j], str):
                meta = {
                    "model": owner.model,
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                }
                owner.cache.put(keys[j], completion.text, meta=meta)
            kill_point("answer")  # test-only crash point (droiz._killpoint)
            self._deliver(keys[j], completion)

        sent = [self.requests[self.groups[k][0]] for k in keys]
        try:
            answers = owner.inner.complete(sent, store)
        finally:
            owner.cache.release(k for k in keys if isinstance(k, str))
        if len(answers) != len(sent):
            raise BackendError(
                f"[{owner.model}] the executor returned {len(answers)} answers for {len(sent)} "
                "requests"
            )

    def _wait(self, pending: list[str]) -> None:
        """Wait for the answers of ``pending`` (leased by other processes) as they are stored,
        sending those whose lease is given back or whose owner dies."""
        cache = self.owner.cache
        logger.info(
            "[%s] waiting for %d answer(s) that another droiz process is fetching",
            self.owner.model,
            len(pending),
        )
        delay = _POLL[0]
        while pending:
            found = cache.get_many(pending)
            self._deliver_found(found)
            pending = [k for k in pending if k not in found]
            if pending and cache.claimable(pending):
                claim = cache.claim(pending)
                self._deliver_found(claim.found)
                self._send(list(claim.mine))
                pending, delay = claim.waiting, _POLL[0]
            elif pending:
                time.sleep(delay)
                delay = min(_POLL[1], delay * 2)


class CachedGenerator(Generator):
    """Serves generated instructions from a :class:`ResponseCache`, generating only the misses.

    Keys are the generator's fingerprint, the demos and the exact float64 bytes of each ``z`` row,
    so a repeated run does not regenerate anything. Identical rows are generated once.

    Args:
        generator: The generator to wrap.
        cache: The cache (shared with the responses; entries have ``kind="instruction"``).
        stats: Counters to update (``requests`` counts instructions actually generated); a fresh
            :class:`LLMStats` by default.
    """

    def __init__(
        self, generator: Generator, cache: ResponseCache, stats: LLMStats | None = None
    ) -> None:
        self.inner = generator
        self.cache = cache
        self.stats = stats if stats is not None else LLMStats()
        self.dim = generator.dim

    def __repr__(self) -> str:
        return f"CachedGenerator({self.inner!r}, {self.cache!r})"

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def generate(self, z: Tensor, demos: Sequence[Demo]) -> list[str]:
        z = check_z(z, self.dim)
        demos = [(str(x), str(y)) for x, y in demos]
        keys = [instruction_key(self.fingerprint, demos, row.numpy().tobytes()) for row in z]
        found = self.cache.get_many(keys)
        todo = [k for k in dict.fromkeys(keys) if k not in found]
        self.stats.add(cache_hits=len(keys) - len(todo), cache_misses=len(todo))
        if todo:
            rows = [keys.index(k) for k in todo]
            texts = self.inner.generate(z[rows], demos)
            self.stats.add(requests=len(todo))
            for key, text in zip(todo, texts, strict=True):
                self.cache.put(
                    key, text, kind="instruction", meta={"fingerprint": self.fingerprint}
                )
                found[key] = text
        return [found[k] for k in keys]
