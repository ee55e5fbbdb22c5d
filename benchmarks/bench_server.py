"""Throughput of droiz's executors on SmolLM2-135M on this CPU.

For concurrency 1, 2 and 4: ``droiz serve smollm2-135m --parallel C`` (one thread; with
``--source-build``, ``scripts/llama-server.sh start --parallel C`` instead), then
droiz's ``openai`` executor (no cache) sends the same N real execution prompts (the dev split of
``first_word_letter`` with a hand-written instruction) with ``concurrency=C``; we report
requests/s and generated tokens/s as droiz sees them (wall clock, the server's ``usage``), next
to llama.cpp's own figures from the server log (its per-request generation speed and prompt
speed). Beside them, droiz's in-process ``hf`` executor (batched greedy generation in torch, one
thread) on the same prompts with the same answer limit.

    OMP_NUM_THREADS=1 python benchmarks/bench_server.py [--n 32] [--max-tokens 24]
        [--concurrency 1,2,4] [--hf hf:smollm2-135m] [--no-hf] [--log-dir runs/bench_server]
        [--source-build]

Needs ``pip install 'droiz[serve]'`` (or ``scripts/llama-server.sh build`` for
``--source-build``); the server rows are skipped otherwise. Each server row also gives the seconds
from the server's start to its first healthy ``/health`` answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from llama_server import LlamaServer, missing_server

TASK = "first_word_letter"
INSTRUCTION = "Write the first letter of the word. Answer with only the letter."


def prompts(n: int) -> list[Any]:
    """``n`` execution requests: the instruction on dev examples under every shift group."""
    from droiz.runner.loop.scoring import exec_request
    from droiz.tasks import load_task

    task = load_task(TASK)
    dataset = task.dataset("dev", n=n // len(task.groups) + 1, seed=0)
    return [exec_request(INSTRUCTION, inst) for inst in dataset.instances][:n]


def run_executor(executor: Any, requests: list[Any]) -> tuple[float, int, int]:
    """Wall seconds, answers and generated tokens of one ``complete`` call."""
    start = time.perf_counter()
    done = executor.complete(requests)
    seconds = time.perf_counter() - start
    return seconds, len(done), sum(c.completion_tokens for c in done)


def row(name: str, seconds: float, n: int, tokens: int, extra: str = "") -> None:
    print(
        f"| {name} | {n} | {seconds:.1f} | {n / seconds:.2f} | {tokens / seconds:.1f} | {extra} |",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=32, help="requests per row (default 32)")
    p.add_argument("--max-tokens", type=int, default=24, help="answer limit (default 24)")
    p.add_argument("--concurrency", default="1,2,4", help="server rows (default 1,2,4)")
    p.add_argument("--threads", type=int, default=1, help="llama-server threads (default 1)")
    p.add_argument("--hf", default="hf:smollm2-135m", help="in-process executor model")
    p.add_argument("--hf-batch", type=int, default=16, help="hf executor batch size")
    p.add_argument("--no-hf", action="store_true", help="skip the in-process row")
    p.add_argument("--log-dir", type=Path, default=Path("runs/bench_server"))
    p.add_argument("--source-build", action="store_true", help="scripts/llama-server.sh instead")
    args = p.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.n < 1 or args.max_tokens < 1 or any(c < 1 for c in levels):
        p.error("--n, --max-tokens and --concurrency must be positive")
    import torch

    from droiz.llm import make_executor

    torch.set_num_threads(1)
    texts = prompts(args.n)
    print(f"{len(texts)} prompts of {TASK}, answer limit {args.max_tokens} tokens, greedy")
    print()
    print("| executor | requests | wall s | requests/s | tokens/s (droiz) | llama.cpp log |")
    print("|---|---:|---:|---:|---:|---|")
    name = "llama-server (source build)" if args.source_build else "droiz serve"
    missing = missing_server(args.source_build)
    if missing:
        print(f"| {name} | – | – | – | – | {missing} |")
        levels = []
    for c in levels:
        log = args.log_dir / f"server-parallel{c}.log"
        opts = {"parallel": c, "threads": args.threads, "source_build": args.source_build}
        with LlamaServer(log, **opts) as server:
            executor = make_executor(
                "openai:smollm2-135m", base_url=server.base_url, concurrency=c,
                max_tokens=args.max_tokens,
            )  # fmt: skip
            run_executor(executor, texts[:c])  # warm-up, not counted in droiz's figures
            before = server.timings()
            seconds, n, tokens = run_executor(executor, texts)
            t = server.timings()
        gen = t["eval_tokens"] - before["eval_tokens"]
        gen_ms = t["eval_ms"] - before["eval_ms"]
        p_tok, p_ms = (
            t["prompt_tokens"] - before["prompt_tokens"],
            t["prompt_ms"] - before["prompt_ms"],
        )
        own = (
            f"generation {1000 * gen / gen_ms:.1f} tok/s per request, "
            f"prompt {1000 * p_tok / p_ms:.0f} tok/s, {int(gen)} tokens"
            if gen_ms and p_ms
            else "no timing lines"
        )
        own += f"; healthy {server.ready_s:.1f} s after start"
        row(f"openai → {name}, concurrency {c} (--parallel {c})", seconds, n, tokens, own)
    if not args.no_hf:
        start = time.perf_counter()
        executor = make_executor(args.hf, max_new_tokens=args.max_tokens, batch_size=args.hf_batch)
        load = time.perf_counter() - start
        seconds, n, tokens = run_executor(executor, texts)
        row(f"hf in process, batch {args.hf_batch}", seconds, n, tokens, f"(load {load:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
