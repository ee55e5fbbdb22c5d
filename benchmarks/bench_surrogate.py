"""Which GP over K groups: the measurement behind ``GroupGP`` (see docs/surrogate.md).

Run: ``python benchmarks/bench_surrogate.py [--quick]``. Single thread (set here). 150 soft prompts
in [-1, 1]^10, each observed on 2 of K groups (as the engine does), noise sd 0.05; the groups share
a component (``y_t = f_0 + 0.6 f_t``). Compared, on fit time and on test RMSE over all groups at
500 fresh points (relative to the sd of the truth):

* ``GroupGP``: droiz's shared-hyperparameter GP, one batched masked Cholesky;
* ``K x SingleTaskGP``: BoTorch, one GP per group on that group's observations;
* ``MultiTaskGP (ICM)``: BoTorch's intrinsic coregionalisation model on the observed pairs;
* ``SharedGroupGP``: droiz's shared-strength GP ``f_t = g + h_t`` (``surrogate="shared"``).

A second error column is the held-out RMSE on the unobserved groups: at the 150 training points,
the groups each point was *not* observed on (relative to the sd of the truth there).
``--models`` picks the models (default: GroupGP and SharedGroupGP).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time
import warnings

import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import MultiTaskGP, SingleTaskGP
from gpytorch.mlls import ExactMarginalLogLikelihood

from droiz.surrogate import GroupGP
from droiz.surrogate.shared import SharedGroupGP


def truth(z: torch.Tensor, k: int, gen_seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(gen_seed)
    w = torch.randn(k + 1, z.shape[-1], generator=gen, dtype=torch.float64) / 2
    f = torch.sin(z @ w.T)  # n x (k + 1)
    return f[:, :1] + 0.6 * f[:, 1:]


def data(k: int, seed: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.rand(150, 10, generator=gen, dtype=torch.float64) * 2 - 1
    mask = torch.zeros(150, k, dtype=torch.bool)
    for i in range(150):
        mask[i, torch.randperm(k, generator=gen)[:2]] = True
    y = truth(z, k, seed) + 0.05 * torch.randn(150, k, generator=gen, dtype=torch.float64)
    zt = torch.rand(500, 10, generator=gen, dtype=torch.float64) * 2 - 1
    return z, torch.where(mask, y, float("nan")), zt, truth(zt, k, seed), truth(z, k, seed)


def group_gp(z: torch.Tensor, y: torch.Tensor, zt: torch.Tensor) -> torch.Tensor:
    gp = GroupGP(z, y).fit()
    with torch.no_grad():
        return gp.predict(zt)[0]


def shared_gp(z: torch.Tensor, y: torch.Tensor, zt: torch.Tensor) -> torch.Tensor:
    gp = SharedGroupGP(z, y).fit()
    with torch.no_grad():
        return gp.predict(zt)[0]


def separate(z: torch.Tensor, y: torch.Tensor, zt: torch.Tensor) -> torch.Tensor:
    means = []
    for t in range(y.shape[-1]):
        rows = ~torch.isnan(y[:, t])
        gp = SingleTaskGP((z[rows] + 1) / 2, y[rows, t : t + 1])
        fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
        with torch.no_grad():
            means.append(gp.posterior((zt + 1) / 2).mean.squeeze(-1))
    return torch.stack(means, -1)


def icm(z: torch.Tensor, y: torch.Tensor, zt: torch.Tensor) -> torch.Tensor:
    idx = (~torch.isnan(y)).nonzero()
    x = torch.cat([(z[idx[:, 0]] + 1) / 2, idx[:, 1:].to(torch.float64)], -1)
    gp = MultiTaskGP(x, y[idx[:, 0], idx[:, 1]].unsqueeze(-1), task_feature=-1, rank=1)
    fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
    with torch.no_grad():
        return gp.posterior((zt + 1) / 2).mean


MODELS = {
    "GroupGP": group_gp,
    "SharedGroupGP": shared_gp,
    "K x SingleTaskGP": separate,
    "MultiTaskGP (ICM)": icm,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 4 only, one seed")
    parser.add_argument("--models", nargs="+", default=["GroupGP", "SharedGroupGP"])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    ks, seeds = ((4,), (0,)) if args.quick else ((4, 8, 32), tuple(range(args.seeds)))
    print(
        f"{'K':>3} {'model':18s} {'fit+predict s':>14s} {'rel. RMSE':>10s} "
        f"{'unobserved':>11s} {'time ratio':>11s}"
    )
    for k in ks:
        base = None
        for name in args.models:
            fn = MODELS[name]
            if name == "MultiTaskGP (ICM)" and k > 8:
                continue  # minutes per fit; see docs/surrogate.md
            secs, errs, held = [], [], []
            for seed in seeds:
                z, y, zt, yt, ytrain = data(k, seed)
                start = time.process_time()
                mean = fn(z, y, torch.cat([zt, z]))
                secs.append(time.process_time() - start)
                mt, mz = mean[: len(zt)], mean[len(zt) :]
                errs.append((((mt - yt) ** 2).mean().sqrt() / yt.std()).item())
                hidden = torch.isnan(y)
                resid = (mz - ytrain)[hidden]
                held.append((resid.pow(2).mean().sqrt() / ytrain[hidden].std()).item())
            t, e, h = (sum(v) / len(v) for v in (secs, errs, held))
            se = statistics.stdev(held) / len(held) ** 0.5 if len(held) > 1 else 0.0
            base = base or t
            print(f"{k:3d} {name:18s} {t:14.2f} {e:10.3f} {h:6.3f}±{se:.3f} {t / base:10.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
