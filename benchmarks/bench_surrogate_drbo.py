"""Robust regret of droiz's own surrogates (independent and shared) on the DRBO problem.

Run: ``python benchmarks/bench_surrogate_drbo.py [--seeds 10] [--steps 60]``. Single thread.

The problem is ``droiz bench drbo``'s (``droiz.bench.drbo_problem``, docs/bench.md): a GP-sampled
function on a 20 x 20 action x context grid, the reference shifted to the low contexts, contexts
drawn from the uniform true distribution after the action is chosen, the KL ball whose boundary
holds the true distribution. Unlike ``droiz bench drbo`` the kernel is *not* known: each action is
a 1-d soft prompt ``z = 2 x - 1``, each context a group (K = 20, one group observed per
evaluation), and the model is droiz's surrogate with fitted hyperparameters:

* ``independent``: ``GroupGP`` (groups independent a priori, shared hyperparameters);
* ``shared``: ``SharedGroupGP`` (``f_t = g + h_t``: a latent function shared by the contexts).

Every step: UCB per (action, group) with ``beta = 2``, the action maximising the exact worst case
over the ball (droiz's KL solver), the robust regret of that action under the true function.
Hyperparameters are refitted every ``--refit-every`` steps (warm-started from the previous fit) and
held in between. The row ``known kernel`` is ``droiz bench drbo``'s DRO-UCB with the true prior,
for scale. Every surrogate of a seed sees the same initial points, contexts and noise.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time
import warnings

import torch

from droiz.bench.drbo import BETA, N_INIT, GridPosterior, common_draws, run_method
from droiz.bench.drbo_problem import NOISE_VAR, DRBOProblem, ambiguity_set, make_problem
from droiz.surrogate import GroupGP
from droiz.surrogate.shared import SharedGroupGP

MODELS = {"independent": GroupGP, "shared": SharedGroupGP}


def run_surrogate(name: str, seed: int, steps: int, refit_every: int) -> tuple[list[float], float]:
    """Robust regret per step of DRO-UCB on the fitted surrogate ``name``; CPU s per step."""
    problem = make_problem(seed)
    amb = ambiguity_set("kl", problem)
    truth = amb.worst_case(problem.f, problem.ref).value
    n_act, n_ctx = problem.n_actions, problem.n_contexts
    actions = (2 * torch.linspace(0.0, 1.0, n_act, dtype=torch.float64) - 1).unsqueeze(-1)
    init, init_noise, contexts, noise = draws(seed, steps, problem)
    rows = [
        (j // n_ctx, j % n_ctx, float(problem.f.reshape(-1)[j]) + e)
        for j, e in zip(init, init_noise, strict=True)
    ]
    regret, state = [], None
    start = time.process_time()
    for t, (c, e) in enumerate(zip(contexts, noise, strict=True)):
        z = actions[[a for a, _, _ in rows]]
        y = torch.full((len(rows), n_ctx), float("nan"), dtype=torch.float64)
        for i, (_, ctx, val) in enumerate(rows):
            y[i, ctx] = val
        gp = MODELS[name](z, y)
        if state is not None:
            gp.load_state_dict(state)
        if state is None or t % refit_every == 0:
            gp.fit()
        gp.eval()
        state = gp.state_dict()
        with torch.no_grad():
            mean, var = gp.predict(actions)  # A x K
        ucb = mean + BETA * var.clamp_min(0.0).sqrt()
        a = int(torch.argmax(amb.worst_case(ucb, problem.ref).value))
        rows.append((a, c, float(problem.f[a, c]) + e))
        regret.append(float(truth.max() - truth[a]))
    return regret, (time.process_time() - start) / steps


def draws(seed: int, steps: int, problem: DRBOProblem) -> tuple[list, ...]:
    """``droiz bench drbo``'s common random numbers of one seed, as lists."""
    return tuple(t.tolist() for t in common_draws(seed, steps, problem))


def known_kernel(seed: int, steps: int) -> list[float]:
    """``droiz bench drbo``'s DRO-UCB (known prior, exact incremental posterior), KL ball."""
    problem = make_problem(seed)
    init, init_noise, contexts, noise = draws(seed, steps, problem)
    start = GridPosterior(problem.prior, NOISE_VAR, N_INIT + steps)
    flat = problem.f.reshape(-1)
    for j, e in zip(init, init_noise, strict=True):
        start.update(j, float(flat[j]) + e)
    amb = ambiguity_set("kl", problem)
    run = run_method(
        "dro-ucb", problem, "kl", amb, start, torch.tensor(contexts), torch.tensor(noise)
    )
    return run.regret.tolist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=60, help="steps after the 10 initial points")
    parser.add_argument("--refit-every", type=int, default=5)
    args = parser.parse_args()
    if args.seeds < 2 or args.steps < 1 or args.refit_every < 1:
        parser.error(
            f"expected --seeds >= 2 (standard errors need two), --steps >= 1 and "
            f"--refit-every >= 1; got {args.seeds}, {args.steps} and {args.refit_every}"
        )
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    seeds = range(args.seeds)
    cum: dict[str, list[float]] = {}
    secs: dict[str, float] = {}
    for name in MODELS:
        runs = [run_surrogate(name, s, args.steps, args.refit_every) for s in seeds]
        cum[name] = [sum(r) for r, _ in runs]
        secs[name] = statistics.mean(s for _, s in runs)
    cum["known kernel"] = [sum(known_kernel(s, args.steps)) for s in seeds]
    print(f"KL ball, {args.seeds} seeds, T = {args.steps}, refit every {args.refit_every} steps")
    print(f"{'surrogate':14s} {'cum. robust regret':>22s} {'CPU s/step':>11s}")
    for name, vals in cum.items():
        se = statistics.stdev(vals) / len(vals) ** 0.5
        step = f"{secs[name]:11.3f}" if name in secs else f"{'-':>11s}"
        print(f"{name:14s} {statistics.mean(vals):14.2f} ± {se:5.2f} {step}")
    diff = [s - i for s, i in zip(cum["shared"], cum["independent"], strict=True)]
    se = statistics.stdev(diff) / len(diff) ** 0.5
    wins = sum(d < 0 for d in diff)
    print(
        f"shared - independent: {statistics.mean(diff):+.2f} ± {se:.2f} (mean ± s.e., paired; "
        f"shared lower on {wins}/{len(diff)} seeds)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
