"""Independent cvxpy oracles for the worst-case problems (tests and benchmarks only).

Each oracle solves ``min_{w in U(ref)} <u, w>`` on the standardised utilities ``(u - mean) / sd``
and maps the value back (``V(a u + b) = a V(u) + b``), which keeps the conic solvers' absolute
tolerances meaningful at every scale. Conic problems use CLARABEL with tight tolerances, falling
back to CLARABEL's defaults and then SCS (an "inaccurate" optimum counts only if it is
feasible); linear programs use HiGHS.
"""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np

TIGHT_CLARABEL = {
    "tol_gap_abs": 1e-11,
    "tol_gap_rel": 1e-11,
    "tol_feas": 1e-11,
    "tol_ktratio": 1e-9,
    "max_iter": 500,
}
FEASIBILITY = 1e-8  # accepted constraint violation of an "inaccurate" solution (standardised u)
SOLVER_CHAINS: dict[str, list[tuple[str, dict]]] = {
    "conic": [
        ("CLARABEL", TIGHT_CLARABEL),
        ("CLARABEL", {}),
        ("SCS", {"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 100_000}),
    ],
    "lp": [("HIGHS", {}), ("CLARABEL", TIGHT_CLARABEL)],
}


def spread(u: np.ndarray) -> float:
    """The standard deviation of ``u``, or 0 when ``u`` is constant up to rounding."""
    sd = float(np.std(u))
    return sd if sd > 1e-12 * float(np.max(np.abs(u))) else 0.0


def standardise(u: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(u - mean) / sd`` with ``mean`` and ``sd`` (``sd = 1`` for constant ``u``)."""
    mean, sd = float(np.mean(u)), spread(u)
    sd = sd if sd > 0 else 1.0
    return (u - mean) / sd, mean, sd


def constraints(kind: str, w: cp.Expression, q: np.ndarray, radius: float) -> list:
    """The ball constraints on a weight vector ``w`` (besides ``w >= 0``, ``sum w = 1``)."""
    if kind == "kl":
        return [cp.sum(cp.rel_entr(w, q)) <= radius]
    if kind == "chi2":  # Pearson, as a second-order cone (needs q > 0)
        return [cp.norm2(cp.multiply(1.0 / np.sqrt(q), w - q)) <= np.sqrt(radius)]
    if kind == "tv":
        return [0.5 * cp.norm1(w - q) <= radius]
    if kind == "cvar":
        return [w <= q / radius]
    raise ValueError(kind)


def solve(
    kind: str, u: np.ndarray, q: np.ndarray, radius: float, cost: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Worst-case value and weights of ``u`` (``K``) over the set ``kind`` around ``q``."""
    un, mean, sd = standardise(np.asarray(u, dtype=np.float64))
    q = np.asarray(q, dtype=np.float64)
    if kind == "w1":
        assert cost is not None
        plan = cp.Variable((len(q), len(q)), nonneg=True)
        cons = [cp.sum(plan, axis=1) == q, cp.sum(cp.multiply(cost, plan)) <= radius]
        w_expr = cp.sum(plan, axis=0)
        problem = cp.Problem(cp.Minimize(un @ w_expr), cons)
    else:
        w = cp.Variable(len(q), nonneg=True)
        w_expr = w
        cons = [cp.sum(w) == 1, *constraints(kind, w, q, radius)]
        problem = cp.Problem(cp.Minimize(un @ w), cons)
    chain = SOLVER_CHAINS["conic" if kind in ("kl", "chi2") else "lp"]
    _solve_with(problem, chain)
    return float(problem.value) * sd + mean, np.asarray(w_expr.value)


def _solve_with(problem: cp.Problem, chain: list[tuple[str, dict]]) -> None:
    """Solve with the first solver of ``chain`` that reports an optimum, or failing that, an
    inaccurate optimum whose constraints hold to ``FEASIBILITY``."""
    errors = []
    for solver, options in chain:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                problem.solve(solver=solver, **options)
        except cp.error.SolverError as exc:
            errors.append(f"{solver}: {exc}")
            continue
        violation = max(float(np.max(c.violation())) for c in problem.constraints)
        if problem.status == cp.OPTIMAL or (
            problem.status == cp.OPTIMAL_INACCURATE and violation <= FEASIBILITY
        ):
            return
        errors.append(f"{solver}: status {problem.status}, violation {violation:.1e}")
    raise RuntimeError("every oracle solver failed: " + "; ".join(errors))
