"""What the spend ledger (``budget.jsonl``) adds to each request: the time of one
``Budget.reserve`` plus ``settle`` without and with a ledger (two lines written and flushed, an
fsync at most every 0.1 s), and of one fsync, in the temporary directory's file system.

    python benchmarks/bench_ledger.py [--n 20000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from droiz.llm.budget import Budget, Limits
from droiz.llm.ledger import LEDGER_NAME


def per_request(n: int, ledger: Path | None) -> float:
    budget = Budget(Limits(max_requests=10**9))
    if ledger is not None:
        budget.open_ledger(ledger)
    start = time.perf_counter()
    for _ in range(n):
        budget.settle(budget.reserve(500, 0.001), 300, 0.0005)
    elapsed = (time.perf_counter() - start) / n
    budget.close_ledger()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    if args.n < 1:
        parser.error(f"expected --n >= 1, got {args.n}")
    if args.dir is not None and not Path(args.dir).is_dir():
        parser.error(f"expected an existing folder for --dir, got {args.dir!r}: create it first")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / LEDGER_NAME
        bare, logged = per_request(args.n, None), per_request(args.n, path)
        with (Path(tmp) / "fsync").open("a") as f:
            start = time.perf_counter()
            for _ in range(200):
                f.write("x\n")
                f.flush()
                os.fsync(f.fileno())
            fsync = (time.perf_counter() - start) / 200
        size = path.stat().st_size / (2 * args.n + 1)
    print(f"reserve+settle: {bare * 1e6:.1f} us without a ledger, {logged * 1e6:.1f} us with one")
    print(f"one fsync: {fsync * 1e3:.2f} ms; {size:.0f} bytes per ledger line")


if __name__ == "__main__":
    main()
