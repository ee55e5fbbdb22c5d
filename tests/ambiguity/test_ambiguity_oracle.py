"""droiz's worst-case solvers against independent cvxpy oracles on random problems.

Problems (seeded): K in {2, 3, 5, 10, 25, 50}, utility scales 1e-3..1e3 with offsets of about
10 max(1, scale) (up to 1e4 times the spread), 20% with ties at the minimum, radii log-uniform
(eps in [1e-4, 10] for KL, chi-square and W1; delta in [1e-4, 1] for TV; alpha in [1e-3, 1] for
CVaR), reference weights from Dirichlet draws, with zeros in a quarter of the TV, CVaR and W1 cases.
Tolerances are contracts: ``|V - V_oracle| <= 1e-5 sd(u)`` for the conic sets (KL, chi-square) and
``1e-6 sd(u)`` for the linear programs (TV, CVaR, W1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from amb_cases import KINDS, make_set, random_cost, random_reference, random_utilities
from amb_oracle import solve, spread

N_PROBLEMS = {"kl": 300, "chi2": 300, "tv": 300, "cvar": 300, "w1": 150}
KS = (2, 3, 5, 10, 25, 50)
TOLERANCE = {"kl": 1e-5, "chi2": 1e-5, "tv": 1e-6, "cvar": 1e-6, "w1": 1e-6}
RADIUS_LOG10 = {"kl": (-4, 1), "chi2": (-4, 1), "tv": (-4, 0), "cvar": (-3, 0), "w1": (-4, 1)}


def _problems(kind: str) -> list[tuple[np.ndarray, np.ndarray, float, np.ndarray | None]]:
    rng = np.random.default_rng([2024, KINDS.index(kind)])
    conic = kind in ("kl", "chi2")
    out = []
    for i in range(N_PROBLEMS[kind]):
        k = KS[i % len(KS)]
        zeros = not conic and rng.random() < 0.25
        q = random_reference(rng, k, zeros, 1e-4 if conic else 1e-6)
        u, _ = random_utilities(rng, k, ties=rng.random() < 0.2)
        radius = float(10 ** rng.uniform(*RADIUS_LOG10[kind]))
        out.append((u, q, radius, random_cost(rng, k) if kind == "w1" else None))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_value_matches_cvxpy_oracle(kind: str) -> None:
    worst_err, worst_case = 0.0, ""
    for u, q, radius, cost in _problems(kind):
        aset = make_set(kind, radius, None if cost is None else torch.tensor(cost))
        ours = aset.worst_case(torch.tensor(u), torch.tensor(q)).value.item()
        oracle, _ = solve(kind, u, q, radius, cost)
        sd = spread(u)
        err = abs(ours - oracle) / (sd if sd > 0 else 1.0)  # constant u: absolute error
        assert math.isfinite(err)
        if err > worst_err:
            worst_err = err
            worst_case = f"K={len(u)} radius={radius!r} ours={ours!r} oracle={oracle!r}"
    assert worst_err <= TOLERANCE[kind], (
        f"{kind}: max |V - V_oracle| / sd = {worst_err:.2e} at {worst_case}"
    )


@pytest.mark.parametrize("kind", ["kl", "chi2"])
def test_oracle_agrees_on_batched_call(kind: str) -> None:
    """One batched call over many utility vectors equals the oracle on each row."""
    rng = np.random.default_rng(7)
    q = random_reference(rng, 6, False, 1e-3)
    u = rng.normal(size=(20, 6)) * 3.0 + 1.0
    values = make_set(kind, 0.3).worst_case(torch.tensor(u), torch.tensor(q)).value
    oracle = np.array([solve(kind, row, q, 0.3)[0] for row in u])
    assert np.max(np.abs(values.numpy() - oracle) / u.std(axis=1)) <= TOLERANCE[kind]
