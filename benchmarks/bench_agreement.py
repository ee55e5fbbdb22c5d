"""Do llama.cpp's server and the in-process ``hf`` executor give the same answers?

200 fixed (instruction, example) pairs: 4 tasks x 5 pool instructions (every 12th of
``make_pools.py``'s 60) x 10 dev instances (5 examples under ``clean`` and ``distractor``, seed
0). Both executors decode greedily with the same answer limit: ``openai:smollm2-135m`` against
``droiz serve smollm2-135m`` (the Q4_1 GGUF, run by llama.cpp; ``--source-build``:
``scripts/llama-server.sh start``) and ``hf:smollm2-135m`` (the same GGUF dequantised to float32,
run by transformers), both in SmolLM2's chat template. We count pairs with identical raw answers,
identical ``chat-answer``-filtered answers and identical scores, and sort the disagreements by
kind.

    OMP_NUM_THREADS=1 python benchmarks/bench_agreement.py [--max-tokens 24]
        [--base-url URL]   # a running server instead of starting one
        [--source-build]   # start scripts/llama-server.sh instead of droiz serve

Answers go to the response cache (``--cache-dir``), so a rerun costs nothing.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from llama_server import LlamaServer
from make_pools import build_pool, make_real_executor

GROUPS = ("clean", "distractor")
AGREEMENT_TASKS = ("first_word_letter", "larger_animal", "singular_to_plural", "antonyms")


def pairs() -> list[tuple[str, str, Any]]:
    """(task, instruction, instance) for the 200 pairs, in a fixed order."""
    from droiz.tasks import load_task

    out = []
    for name in AGREEMENT_TASKS:
        task = load_task(name, seed=0)
        instances = task.dataset("dev", groups=list(GROUPS), n=5, seed=0).instances
        for instruction in build_pool(name)[::12][:5]:
            out.extend((name, instruction, inst) for inst in instances)
    return out


def answers(executor: Any, items: list[tuple[str, str, Any]]) -> list[str]:
    from droiz.runner.loop.scoring import exec_request

    return executor.execute([exec_request(instruction, inst) for _, instruction, inst in items])


def prompt_tokens(executor: Any, items: list[tuple[str, str, Any]]) -> int:
    """Prompt tokens of the first pair as the backend counts them (uncached): equal counts on
    both sides say both wrapped the prompt in the same chat template."""
    from droiz.runner.loop.scoring import exec_request

    _, instruction, inst = items[0]
    inner = getattr(executor, "inner", executor)
    return inner.complete([exec_request(instruction, inst)])[0].prompt_tokens


def kind(raw: tuple[str, str], filtered: tuple[str, str], scores: tuple[float, float]) -> str:
    if raw[0] == raw[1]:
        return "identical raw answers"
    if filtered[0] == filtered[1]:
        return "raw answers differ after the extracted answer"
    if scores[0] == scores[1]:
        return "different extracted answers, same score"
    return "different scores"


def compare(items: list[tuple[str, str, Any]], server: list[str], hf: list[str]) -> dict:
    from droiz.tasks import load_task, score
    from droiz.tasks.filters import parse_filter

    chain = parse_filter("chat-answer")
    metrics = {name: load_task(name).metric for name in AGREEMENT_TASKS}
    kinds: collections.Counter[str] = collections.Counter()
    examples, totals = [], [0.0, 0.0]
    for (task, instruction, inst), a, b in zip(items, server, hf, strict=True):
        fa, fb = chain(a), chain(b)
        sa = score(metrics[task], fa, list(inst.answers))
        sb = score(metrics[task], fb, list(inst.answers))
        totals[0], totals[1] = totals[0] + sa, totals[1] + sb
        k = kind((a, b), (fa, fb), (sa, sb))
        kinds[k] += 1
        if k != "identical raw answers":
            row = {"task": task, "instruction": instruction, "input": inst.input, "kind": k}
            examples.append(row | {"llama-server": a, "hf": b, "scores": [sa, sb]})
    n = len(items)
    same_filtered = n - kinds["different extracted answers, same score"] - kinds["different scores"]
    return {
        "pairs": n,
        "identical_raw": kinds["identical raw answers"] / n,
        "identical_filtered": same_filtered / n,
        "identical_scores": 1 - kinds["different scores"] / n,
        "kinds": dict(kinds),
        "accuracy": {"llama-server": totals[0] / n, "hf": totals[1] / n},
        "disagreements": examples,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-tokens", type=int, default=20, help="answer limit of both (default 20)")
    p.add_argument("--base-url", help="a running llama-server (default: start one)")
    p.add_argument("--hf", default="hf:smollm2-135m", help="the in-process executor")
    p.add_argument("--cache-dir", default="runs/bench_real/cache", help="response cache")
    p.add_argument("--json", type=Path, help="write the comparison and every disagreement here")
    p.add_argument("--concurrency", type=int, default=4, help="match the server's --parallel")
    p.add_argument("--hf-only", action="store_true", help="only fill the cache with hf answers")
    p.add_argument("--source-build", action="store_true", help="start scripts/llama-server.sh")
    args = p.parse_args(argv)
    if args.max_tokens < 1:
        p.error("--max-tokens must be positive")
    items = pairs()
    opts = {"max_tokens": args.max_tokens, "cache_dir": args.cache_dir}
    if args.hf_only:
        print(f"{len(answers(make_real_executor(args.hf, **opts), items))} hf answers cached")
        return 0
    if args.base_url:
        executor = make_real_executor(
            "openai:smollm2-135m", base_url=args.base_url, concurrency=args.concurrency, **opts
        )
        server = answers(executor, items)
        tokens = [prompt_tokens(executor, items)]
    else:
        log = Path(args.cache_dir).parent / "agreement-server.log"
        with LlamaServer(log, parallel=args.concurrency, source_build=args.source_build) as srv:
            executor = make_real_executor(
                "openai:smollm2-135m", base_url=srv.base_url, concurrency=args.concurrency, **opts
            )
            server = answers(executor, items)
            tokens = [prompt_tokens(executor, items)]
    hf_executor = make_real_executor(args.hf, **opts)
    hf = answers(hf_executor, items)
    tokens.append(prompt_tokens(hf_executor, items))
    result = compare(items, server, hf) | {"prompt_tokens": tokens}
    print(f"{result['pairs']} pairs, greedy, answer limit {args.max_tokens} tokens")
    for key in ("identical_raw", "identical_filtered", "identical_scores"):
        print(f"  {key.replace('_', ' ')}: {100 * result[key]:.1f} %")
    print(f"  prompt tokens of the first pair: llama-server {tokens[0]}, hf {tokens[1]}")
    acc = result["accuracy"]
    print(f"  accuracy: llama-server {100 * acc['llama-server']:.1f} %, hf {100 * acc['hf']:.1f} %")
    for k, v in sorted(result["kinds"].items(), key=lambda kv: -kv[1]):
        print(f"  {v:4d}  {k}")
    for ex in result["disagreements"][:12]:
        print(f"  [{ex['kind']}] {ex['task']} {ex['input']!r}: server {ex['llama-server']!r} | "
              f"hf {ex['hf']!r}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
