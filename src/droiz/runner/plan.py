"""Upper bounds of what a run will send: requests, tokens and cost (``--dry-run``, the preamble).

The bounds count first attempts (retries come on top; the ``--max-*`` caps count those too):

- **evaluations**: each remaining evaluation measures at most ``groups_per_round`` groups, so at
  most the dev examples of its largest groups;
- **verification**: each finalist lacks at most every group but the ``groups_per_round`` smallest;
- **test**: the winner's test examples of every group;
- **generation**: one request per remaining instruction of an ``api:`` generator.

For a ``pool:`` generator the candidates are known, so the evaluation and verification bound is
also at most the distinct (candidate, dev example) requests the response cache does not answer,
and the test bound at most the uncached test requests of the worst candidate. Tokens are bounded
per request by the prompt's UTF-8 bytes (with an instruction of at most the generator's answer
limit, in tokens) plus the executor's ``max_tokens``; the cost prices those bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from droiz.llm import APE_TEMPLATE, ResponseCache, make_executor, parse_spec
from droiz.llm.budget import PROMPT_OVERHEAD
from droiz.llm.cache import response_key
from droiz.llm.pool import load_pool
from droiz.llm.prompts import fill, format_demos
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
        generation: Requests of an ``api:`` generator.
        prompt_tokens, completion_tokens: Token bounds of all of them.
        cost: Their cost in USD at the known prices (``None``: a model has no price).
        remaining: Evaluations still to run. cached: How many of the candidates' dev and test
            requests the response cache already answers (``pool:`` generators; left out of
            the bounds).
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
    gen_kind, gen_value = parse_spec(str(config.generator), "generator")
    generation = remaining if gen_kind == "api" else 0
    exec_max = config.max_answer_tokens or int(config.executor_options.get("max_tokens", 256))
    pool = load_pool(gen_value) if gen_kind == "pool" else None
    instr_bytes = _instruction_bytes(config, gen_kind, pool)
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
    gen_prompt, gen_completion = _generation_bound(config, problem, generation)
    cost = _cost(config, prompt, completion, gen_prompt, gen_completion)
    return RunPlan(
        evaluations=evaluations,
        verification=verification,
        test=test,
        generation=generation,
        prompt_tokens=prompt + gen_prompt,
        completion_tokens=completion + gen_completion,
        cost=cost,
        remaining=remaining,
        cached=cached,
    )


def _instruction_bytes(config: RunConfig, kind: str, pool: list[str] | None) -> int:
    if pool is not None:
        return max(len(p.encode("utf-8")) for p in pool)
    default = 64 if kind == "api" else 128
    key = "max_tokens" if kind == "api" else "max_new_tokens"
    return int(config.generator_options.get(key, default)) * _GENERATED_BYTES_PER_TOKEN


def _prompt_bound(groups: Sequence[Sequence[Instance]], instr_bytes: int) -> int:
    """The largest prompt bound over the instances, with an instruction of ``instr_bytes``."""
    longest = 0
    for insts in groups:
        for inst in insts:
            longest = max(longest, len(exec_request("", inst).prompt.encode("utf-8")))
    return longest + instr_bytes + PROMPT_OVERHEAD


def _generation_bound(config: RunConfig, problem: Problem, n: int) -> tuple[int, int]:
    if not n:
        return 0, 0
    demos = problem.demos()
    template = str(config.generator_options.get("template", APE_TEMPLATE))
    longest = sorted(demos, key=lambda d: -len(f"{d[0]}{d[1]}".encode()))
    k = int(config.generator_options.get("n_demos", 5))
    prompt = fill(template, full_DEMO=format_demos(longest[:k]))
    bound = len(prompt.encode("utf-8")) + PROMPT_OVERHEAD
    return n * bound, n * int(config.generator_options.get("max_tokens", 64))


def _cost(config: RunConfig, prompt: int, completion: int, g_prompt: int, g_comp: int) -> Any:
    """USD of the bounds, or ``None`` when a model that is sent requests has no price."""
    total = 0.0
    parts = [("executor", config.executor, config.executor_options, prompt, completion)]
    parts.append(("generator", config.generator, config.generator_options, g_prompt, g_comp))
    for role, spec, options, p, c in parts:
        kind, model = parse_spec(str(spec), role)
        if kind not in ("openai", "api") or not (p or c):
            continue
        pricing = find_pricing(model, {**config.prices, **options.get("prices", {})})
        if pricing is None:
            return None
        total += pricing.cost(p, c)
    return total


def _fingerprint(config: RunConfig) -> str | None:
    """The executor's fingerprint (cache keys) without building a client; ``None`` for ``hf:``."""
    kind, _ = parse_spec(str(config.executor), "executor")
    if kind != "openai" or float(config.executor_options.get("temperature", 0)) > 0:
        return None  # local models, or sampled answers (cached only under a sample index)
    options = {k: v for k, v in config.executor_options.items() if k not in ("retry",)}
    options.update(base_url=config.base_url, api_key_env=config.api_key_env)
    if config.max_answer_tokens is not None:
        options["max_tokens"] = config.max_answer_tokens
    if config.cache_namespace:
        options["cache_namespace"] = config.cache_namespace
    try:
        return make_executor(str(config.executor), **options).fingerprint
    except Exception:  # e.g. no key for OpenAI itself: plan without the cache
        return None


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
