"""Upper bounds of what a run will send: requests, tokens and cost (``--dry-run``, the preamble).

The bounds count first attempts (retries come on top; the ``--max-*`` caps count those too):

- **evaluations**: each remaining evaluation measures at most ``groups_per_round`` groups, so at
  most the dev examples of its largest groups;
- **verification**: each finalist lacks at most every group but the ``groups_per_round`` smallest;
- **test**: the winner's test examples of every group;
- **generation**: what the generator says writing the remaining instructions sends
  (:meth:`~droiz.llm.base.Generator.plan_requests`: one request each for ``api:``, none for an
  in-process generator).

When the generator's candidates are known (:meth:`~droiz.llm.base.Generator.candidates`, a
``pool:`` file), the evaluation and verification bound is also at most the distinct (candidate,
dev example) requests the response cache does not answer, and the test bound at most the uncached
test requests of the worst candidate. Tokens are bounded per request by the prompt's UTF-8 bytes
(with an instruction of at most the generator's answer limit, in tokens) plus the executor's
answer limit (each class declares its option and default,
:class:`~droiz.llm.base.Capabilities`); the cost prices those bounds for the priced back ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from droiz.llm import ResponseCache
from droiz.llm.backends import executor_fingerprint
from droiz.llm.base import token_limit
from droiz.llm.budget import PROMPT_OVERHEAD
from droiz.llm.cache import response_key
from droiz.llm.factory import spec_class
from droiz.llm.stats import find_pricing
from droiz.runner.loop.scoring import exec_request
from droiz.runner.problem import Problem
from droiz.runner.settings.config import RunConfig
from droiz.tasks import Instance

_GENERATED_BYTES_PER_TOKEN = 4
"""Bytes per token assumed for a generated instruction whose text is not known yet."""


@dataclass(frozen=True)
class RunPlan:
    """Upper bounds of the requests (first attempts), tokens and cost a run still sends.

    Attributes:
        evaluations, verification, test: Executor requests of each phase.
        generation: Requests of the generator (an HTTP one, ``api:``).
        prompt_tokens, completion_tokens: Token bounds of all of them.
        cost: Their cost in USD at the known prices (``None``: a model has no price).
        remaining: Evaluations still to run. cached: How many of the candidates' dev and test
            requests the response cache already answers (generators whose candidates are
            known, ``pool:``; left out of the bounds).
    """

    evaluations: int
    verification: int
    test: int
    generation: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    remaining: int
    cached: int = 0

    @property
    def requests(self) -> int:
        return self.evaluations + self.verification + self.test + self.generation

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.update(requests=self.requests, tokens=self.tokens)
        return out


def plan_run(
    config: RunConfig, problem: Problem, cache: ResponseCache | None = None, done: int = 0
) -> RunPlan:
    """The bounds of a run that has ``done`` evaluations journaled already."""
    remaining = max(0, config.budget - done)
    per = min(config.groups_per_round, problem.n_groups)
    sizes = sorted(len(d) for d in problem.dev)
    evaluations = remaining * sum(sizes[-per:])
    verification = config.finalists * (sum(sizes) - sum(sizes[:per])) if remaining else 0
    verification = verification if config.finalists else 0
    test_insts = [i for g in problem.test_instances() for i in g]
    test = len(test_insts)
    gen_cls, gen_value = spec_class(str(config.generator), "generator")
    exec_cls, _ = spec_class(str(config.executor), "executor")
    exec_max = config.max_answer_tokens or token_limit(exec_cls, config.executor_options) or 0
    demos = problem.demos() if remaining else []
    gen = gen_cls.plan_requests(remaining, demos, config.generator_options)
    pool = gen_cls.candidates(gen_value)
    instr_bytes = _instruction_bytes(gen_cls, config.generator_options, pool)
    cached = 0
    if pool is not None:
        dev_insts = [i for g in problem.dev for i in g]
        fingerprint = _fingerprint(config) if cache is not None else None
        n_dev, open_dev = _uncached(cache, fingerprint, pool, dev_insts)
        tests = [_uncached(cache, fingerprint, [p], test_insts) for p in pool]
        cached = n_dev - open_dev + sum(n - o for n, o in tests)
        evaluations = min(evaluations, open_dev)
        verification = min(verification, open_dev - evaluations)
        test = min(test, max(o for _, o in tests))
    dev_prompt = _prompt_bound(problem.dev, instr_bytes)
    test_prompt = _prompt_bound([test_insts], instr_bytes) if test_insts else 0
    prompt = (evaluations + verification) * dev_prompt + test * test_prompt
    completion = (evaluations + verification + test) * exec_max
    cost = _cost(config, prompt, completion, gen.prompt_tokens, gen.completion_tokens)
    return RunPlan(
        evaluations=evaluations,
        verification=verification,
        test=test,
        generation=gen.requests,
        prompt_tokens=prompt + gen.prompt_tokens,
        completion_tokens=completion + gen.completion_tokens,
        cost=cost,
        remaining=remaining,
        cached=cached,
    )


def _instruction_bytes(cls: type, options: dict[str, Any], pool: list[str] | None) -> int:
    """The longest instruction, in UTF-8 bytes: of the known candidates, else of the generator's
    answer limit."""
    if pool is not None:
        return max(len(p.encode("utf-8")) for p in pool)
    return (token_limit(cls, options) or 0) * _GENERATED_BYTES_PER_TOKEN


def _prompt_bound(groups: Sequence[Sequence[Instance]], instr_bytes: int) -> int:
    """The largest prompt bound over the instances, with an instruction of ``instr_bytes``."""
    longest = 0
    for insts in groups:
        for inst in insts:
            longest = max(longest, len(exec_request("", inst).prompt.encode("utf-8")))
    return longest + instr_bytes + PROMPT_OVERHEAD


def _cost(
    config: RunConfig, prompt: int, completion: int, g_prompt: int, g_comp: int
) -> float | None:
    """USD of the bounds, or ``None`` when a model that is sent requests has no price."""
    total = 0.0
    parts = [("executor", config.executor, config.executor_options, prompt, completion)]
    parts.append(("generator", config.generator, config.generator_options, g_prompt, g_comp))
    for role, spec, options, p, c in parts:
        cls, model = spec_class(str(spec), role)
        if not cls.capabilities.priced or not (p or c):
            continue
        pricing = find_pricing(model, {**config.prices, **options.get("prices", {})})
        if pricing is None:
            return None
        total += pricing.cost(p, c)
    return total


def _fingerprint(config: RunConfig) -> str | None:
    """The executor's fingerprint (cache keys) without a model or a request (see
    :func:`~droiz.llm.backends.executor_fingerprint`)."""
    return executor_fingerprint(
        str(config.executor),
        options=config.executor_options,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        cache_namespace=config.cache_namespace,
        max_answer_tokens=config.max_answer_tokens,
    )


def _uncached(
    cache: ResponseCache | None,
    fingerprint: str | None,
    instructions: Sequence[str],
    insts: Sequence[Instance],
) -> tuple[int, int]:
    """Distinct (instruction, instance) prompts, and how many of them the cache lacks."""
    prompts = {exec_request(text, inst).prompt for text in instructions for inst in insts}
    if cache is None or fingerprint is None:
        return len(prompts), len(prompts)
    keys = {response_key(fingerprint, prompt) for prompt in prompts}
    return len(prompts), len(prompts) - len(cache.get_many(keys))
