"""Where DRO's final pick loses against the best instruction it evaluated (SIMULATED, no LLM).

Run: ``python benchmarks/bench_selection.py [--seeds 20] [--ambiguity kl:1.0] [--method dro]``.
For each seed it runs one method on the ``tradeoff`` scenario and prints, averaged over seeds, the
true robust value (worst case of the simulated success probabilities) of

* ``best evaluated``: the best instruction the search evaluated (an oracle bound);
* ``own pick``: the engine's final pick (``RobustBO.best()``);
* ``full dev``: the pick by the empirical worst case after re-evaluating every evaluated
  instruction on the dev sets of all groups (what the dev data can tell apart);
* ``lcb c``: the pick by the worst case of ``mean - c sd`` of the posterior (a pessimistic pick).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor

import torch

from droiz import RobustBO
from droiz.ambiguity import parse_ambiguity
from droiz.sim.demo import search, true_robust_values
from droiz.sim.env import SimulatedPromptEnv

LCB = (0.5, 1.0, 2.0)


def one_seed(job: tuple[str, int, str, int]) -> dict[str, float]:
    method, seed, spec, budget = job
    torch.set_num_threads(1)
    env = SimulatedPromptEnv("tradeoff", seed=seed)
    amb = parse_ambiguity(spec)
    bo = RobustBO(env.dim, env.n_groups, method=method, ambiguity=amb, budget=budget, seed=seed)
    ids = search(bo, env)
    truth = true_robust_values(env, ids, amb)
    everything = torch.ones(len(ids), env.n_groups, dtype=torch.bool)
    full = torch.as_tensor(env.evaluate(bo.obs.z, everything).y, dtype=torch.float64)
    uniform = torch.full((env.n_groups,), 1.0 / env.n_groups, dtype=torch.float64)
    out = {
        "best evaluated": float(truth.max()),
        "own pick": float(truth[bo.best().index]),
        "full dev": float(truth[int(amb.worst_case(full, uniform).value.argmax())]),
    }
    mean, var = bo.posterior(bo.obs.z)
    for c in LCB:
        pessimistic = amb.worst_case(mean - c * var.clamp(min=0).sqrt(), bo.reference).value
        out[f"lcb {c:g}"] = float(truth[int(pessimistic.argmax())])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--ambiguity", default="kl:1.0")
    parser.add_argument("--method", default="dro")
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    jobs = [(args.method, s, args.ambiguity, args.budget) for s in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(one_seed, jobs))
    print(
        f"[SIMULATED] tradeoff, {args.method}, {args.ambiguity}, {args.seeds} seeds, budget "
        f"{args.budget}: true robust value of the pick, mean ± s.e. over seeds"
    )
    for key in rows[0]:
        values = [r[key] for r in rows]
        se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
        print(f"  {key:<16} {statistics.mean(values):.3f} ± {se:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
