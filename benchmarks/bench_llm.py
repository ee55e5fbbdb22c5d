"""Benchmarks of the LLM layer (not timed tests).

(a) Executor throughput through droiz's own executor, cache and retries on, against a loopback
    OpenAI-compatible server that answers after a fixed latency (default 100 ms). With
    concurrency 32 the ideal is 320 requests/s; the target is at least 80 % of it.
(b) Batched versus one-by-one soft-prompt generation for 25 candidates: a tiny random Llama on
    CPU by default, or a randomly initialised Llama-2-7B-sized model on a GPU
    (``--device cuda --model-size 7b``; no weights are downloaded).

Usage::

    python benchmarks/bench_llm.py                      # both parts, CPU, tiny model
    python benchmarks/bench_llm.py --part generation --device cuda --model-size 7b
    python benchmarks/bench_llm.py --json out.json      # also write the numbers as JSON
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from typing import Any

logger = logging.getLogger("bench_llm")

SERVER_SCRIPT = """
import sys, time
from droiz.testing import FakeOpenAIServer
server = FakeOpenAIServer(delay=float(sys.argv[1])).start()
print(server.port, flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
"""

DEMOS = [
    ("hot", "cold"),
    ("tall", "short"),
    ("happy", "sad"),
    ("open", "closed"),
    ("early", "late"),
]


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """A fake server in its own process (so it does not compete for the client's GIL)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(proc.stdout.readline())  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{port}/v1"


def bench_executor(n_requests: int, concurrency: int, latency: float) -> dict[str, Any]:
    """Requests/s of CachedExecutor(OpenAIExecutor) with a fresh cache against a slow server."""
    from droiz.llm import CachedExecutor, ExecRequest, OpenAIExecutor, ResponseCache

    proc, base_url = start_server(latency)
    try:
        with tempfile.TemporaryDirectory() as tmp, ResponseCache(tmp) as cache:
            inner = OpenAIExecutor("bench", base_url=base_url, concurrency=concurrency)
            executor = CachedExecutor(inner, cache)
            executor.execute(["warm-up"])  # imports and first connection, not timed
            requests = [ExecRequest("Repeat the input.", f"example {i}") for i in range(n_requests)]
            start = time.perf_counter()
            answers = executor.execute(requests)
            elapsed = time.perf_counter() - start
            assert answers == [f"echo: example {i}" for i in range(n_requests)]
            sent = inner.stats.requests - 1
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=10)
    rate, ideal = n_requests / elapsed, concurrency / latency
    return {
        "requests": n_requests,
        "sent": sent,
        "seconds": elapsed,
        "requests_per_s": rate,
        "ideal_per_s": ideal,
        "ratio": rate / ideal,
    }


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_generation(
    size: str, device: str, candidates: int, max_new_tokens: int
) -> dict[str, Any]:
    """Seconds of one batched call versus ``candidates`` single calls of the generator."""
    import torch

    from droiz.llm import HFSoftPromptGenerator
    from droiz.testing import random_llama

    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    start = time.perf_counter()
    model, tokenizer = random_llama(size, device=device, dtype=dtype)
    build = time.perf_counter() - start
    gen = HFSoftPromptGenerator(
        model,
        tokenizer=tokenizer,
        model_id=f"random-llama-{size}",
        max_new_tokens=max_new_tokens,
        batch_size=candidates,
        device=device,
    )
    z = torch.rand(candidates, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = z * 2 - 1
    gen.generate_raw(z[:2], DEMOS)  # warm-up
    _sync(device)
    start = time.perf_counter()
    batched = gen.generate_raw(z, DEMOS)
    _sync(device)
    t_batch = time.perf_counter() - start
    start = time.perf_counter()
    single = [gen.generate_raw(z[i : i + 1], DEMOS)[0] for i in range(candidates)]
    _sync(device)
    t_single = time.perf_counter() - start
    return {
        "model_size": size,
        "device": device,
        "dtype": str(dtype),
        "build_s": build,
        "candidates": candidates,
        "max_new_tokens": max_new_tokens,
        "batched_s": t_batch,
        "one_by_one_s": t_single,
        "speedup": t_single / t_batch,
        "same_text": batched == single,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "executor", "generation"], default="all")
    parser.add_argument("--requests", type=int, default=960)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1, help="server latency in seconds")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model-size", choices=["tiny", "7b"], default="tiny")
    parser.add_argument("--candidates", type=int, default=25)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--json", help="also write the results to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    results: dict[str, Any] = {}
    if args.part in ("all", "executor"):
        r = bench_executor(args.requests, args.concurrency, args.latency)
        results["executor"] = r
        logger.info(
            "executor: %d requests in %.2f s = %.1f requests/s; ideal %.0f/s; ratio %.1f %%",
            r["requests"],
            r["seconds"],
            r["requests_per_s"],
            r["ideal_per_s"],
            100 * r["ratio"],
        )
    if args.part in ("all", "generation"):
        g = bench_generation(args.model_size, args.device, args.candidates, args.max_new_tokens)
        results["generation"] = g
        logger.info(
            "generation (%s on %s, %d candidates, %d new tokens): batched %.3f s, one-by-one "
            "%.3f s, speed-up %.1fx, same text: %s",
            g["model_size"],
            g["device"],
            g["candidates"],
            g["max_new_tokens"],
            g["batched_s"],
            g["one_by_one_s"],
            g["speedup"],
            g["same_text"],
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
