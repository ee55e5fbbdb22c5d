"""Quality of the final picks on the SIMULATED environment over many seeds (no LLM involved).

Run: ``python benchmarks/bench_demo.py [--seeds 20] [--ambiguity kl:1.0 kl:0.1] [--scenario ...]
[--group-rule reference|adversarial]``.
For each radius it runs the demo's rows and prints, per method, the mean and standard error over
seeds of the worst-group, mean and shifted-mixture test accuracy of the final pick, and the paired
worst-group difference of DRO against EI and UCB as "DRO - X = d [lo, hi], n pairs, MDD m:
verdict" (``droiz.bench.paired.compare``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time

from droiz.axes import DEFAULT_GROUP_RULE, GROUP_RULE_CHOICES
from droiz.bench.paired import compare
from droiz.sim.demo import ROWS, run_demo


def _se(values: list[float]) -> float:
    return statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0


def report(rows: dict, label: str) -> None:
    print(f"\n[SIMULATED] {label}")
    print(f"{'method':18s} {'worst group':>15s} {'mean':>15s} {'shifted':>15s}")
    for name in ROWS:
        cells = []
        for attr in ("worst_group_acc", "mean_acc", "shifted_acc"):
            vals = [getattr(r, attr) for r in rows[name]]
            cells.append(f"{100 * statistics.fmean(vals):6.1f} ± {100 * _se(vals):4.1f}")
        print(f"{name:18s} {cells[0]:>15s} {cells[1]:>15s} {cells[2]:>15s}")
    dro = [r.worst_group_acc for r in rows["dro"]]
    for other in ("ei", "ucb", "ei-robust-select"):
        c = compare("dro", other, "worst group", dro, [r.worst_group_acc for r in rows[other]])
        mdd = "-" if c["mdd"] is None else f"{c['mdd']:.1f}"
        print(
            f"worst group, DRO - {other} = {c['diff']:+.1f} [{c['ci'][0]:+.1f}, {c['ci'][1]:+.1f}]"
            f", {c['n']} pairs, MDD {mdd}: {c['verdict']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--ambiguity", nargs="+", default=["kl:1.0", "kl:0.1"])
    parser.add_argument("--scenario", default="tradeoff")
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument(
        "--group-rule",
        choices=GROUP_RULE_CHOICES,
        default=DEFAULT_GROUP_RULE,
        help="the group rule of every model-based method (docs/engine.md)",
    )
    args = parser.parse_args()
    for spec in args.ambiguity:
        start = time.perf_counter()
        rows = run_demo(
            list(range(args.seeds)),
            args.scenario,
            args.budget,
            spec,
            group_rule=args.group_rule,
        )
        label = (
            f"scenario {args.scenario!r}, ambiguity {spec}, group rule {args.group_rule}, "
            f"{args.seeds} seeds, budget "
            f"{args.budget} ({time.perf_counter() - start:.0f} s); mean ± s.e. in %"
        )
        report(rows, label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
