"""Faults and caps on a whole ``droiz optimize`` run.

A small run on the synthetic world (``pool:`` generator, ``matern`` kernel, budget 30, 10 dev
examples per group, finalists verified, 160 test examples) against the loopback server, with
millisecond backoffs (the defaults wait 0.5 s and more; the time bound is what matters here):

- transient faults at 0 %, 30 % and 60 % of all requests (429, 500, 502, 503, torn connections,
  invalid JSON, no ``choices``, no text), each run unattended to the end: wall time, requests
  the server saw, retries, and whether the journal's measurements equal the fault-free run's;
- the default retry policy (``RetryPolicy()``) at 60 % faults, five runs with other fault seeds:
  whether each finished, and the most attempts one request needed. Its backoff waits are
  recorded instead of slept (the policy's give-up decision counts them all the same), so a run
  takes seconds instead of the hours its waits would add up to;
- ``--max-requests N``: the requests the server saw, against ``N`` (also at 30 % faults);
- a 429 storm (the first 300 requests answered 429 with ``Retry-After: 0``): the lowest
  concurrency the AIMD limit fell to, and whether it recovered to the configured 16.

    OMP_NUM_THREADS=1 python benchmarks/bench_faults.py

The server is a loopback fake: the numbers measure droiz's fault handling, not an LLM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

ENGINE = {"cma_starts": 5, "cma_popsize": 20, "cma_generations": 5}
RETRY = {"base_delay": 0.001, "max_delay": 0.01, "max_elapsed": 60}


def _measured(run_dir: Path) -> dict[Any, Any]:
    out = {}
    for line in (run_dir / "journal.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["type"] in ("eval", "verify", "test"):
            out[(r["type"], r["index"])] = (r["instruction"], r["scores"])
    return out


def main() -> None:
    import droiz
    from droiz.exceptions import DroizError
    from droiz.llm import ExecRequest, OpenAIExecutor, RetryPolicy
    from droiz.llm import openai_executor as oe
    from droiz.runner import CapReached
    from droiz.testing import FakeOpenAIServer, InstructionWorld
    from droiz.testing.server import prompt_of

    world = InstructionWorld("small")
    root = Path(tempfile.mkdtemp(prefix="droiz-bench-faults-"))
    task, pool = world.write_task(root / "t.jsonl"), world.write_pool(root / "pool.txt")

    def settings(server: FakeOpenAIServer, name: str) -> dict[str, Any]:
        return {
            "task": str(task),
            "generator": f"pool:{pool}",
            "executor": "openai:world",
            "base_url": server.base_url,
            "budget": 30,
            "n_init": 20,
            "batch_size": 10,
            "n_dev": 10,
            "kernel": "matern",
            "engine": ENGINE,
            "executor_options": {"retry": RETRY},
            "cache_dir": str(root / f"cache-{name}"),
        }

    clean = None
    print("faults  wall s  requests  retries  same journal as fault-free")
    for rate in (0.0, 0.3, 0.6):
        name = f"faults-{rate}"
        with FakeOpenAIServer(answer=world.answer) as server:
            if rate:
                server.add_transient_faults(rate, seed=7)
            start = time.perf_counter()
            result = droiz.optimize(out=root / name, **settings(server, name))
            wall = time.perf_counter() - start
            sent = server.n_requests
        clean = clean or _measured(root / name)
        same = _measured(root / name) == clean
        print(f"{rate:5.0%}  {wall:6.1f}  {sent:8d}  {int(result.stats['retries']):7d}  {same}")

    print("\ndefault retry policy, 60 % faults (waits recorded, not slept)")
    print("fault seed  finished  requests  retries  most attempts of one request  longest wait s")
    for seed in range(1, 6):
        name = f"default-retry-{seed}"
        waits: list[float] = []

        async def record(seconds: float, waits: list[float] = waits) -> None:
            waits.append(seconds)

        with FakeOpenAIServer(answer=world.answer) as server:
            server.add_transient_faults(0.6, seed=seed)
            run = {**settings(server, name), "executor_options": {}}  # RetryPolicy() as it is
            oe._sleep = record
            try:
                result = droiz.optimize(out=root / name, **run)
                finished, retries = "yes", int(result.stats["retries"])
            except DroizError as exc:
                finished, retries = "no", -1
                print(f"  seed {seed} gave up: {str(exc).split(';')[0]}")
            finally:
                oe._sleep = asyncio.sleep
            streak = max(Counter(prompt_of(b) for b in server.bodies).values())
            print(
                f"{seed:10d}  {finished:8s}  {server.n_requests:8d}  {retries:7d}  "
                f"{streak:28d}  {max(waits, default=0):14.1f}"
            )

    print("\ncap --max-requests  faults  server saw")
    for cap, rate in ((100, 0.0), (237, 0.0), (500, 0.0), (237, 0.3)):
        name = f"cap-{cap}-{rate}"
        with FakeOpenAIServer(answer=world.answer) as server:
            if rate:
                server.add_transient_faults(rate, seed=7)
            with contextlib.suppress(CapReached):
                droiz.optimize(out=root / name, max_requests=cap, **settings(server, name))
            print(f"{cap:18d}  {rate:6.0%}  {server.n_requests:10d}")

    with FakeOpenAIServer(answer=world.answer, delay=0.005) as server:
        server.add_fault("429", times=300, retry_after=0)
        retry = RetryPolicy(base_delay=0.01, max_delay=0.05)
        ex = OpenAIExecutor("m", base_url=server.base_url, concurrency=16, retry=retry)
        requests = [ExecRequest("Repeat.", f"x{i}") for i in range(2000)]
        start = time.perf_counter()
        ex.execute(requests)
        wall = time.perf_counter() - start
        print(
            f"\n429 storm: 2000 requests, 300 answered 429 first: {server.n_requests} sent in "
            f"{wall:.1f} s; concurrency fell to {ex.limiter.lowest} and ended at "
            f"{ex.limiter.slots} of 16"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help; no options
    main()
