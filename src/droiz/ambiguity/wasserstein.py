"""Wasserstein-1 ball over the K groups: ``{w : W_1(ref, w) <= eps}`` under a ground cost ``D``.

Primal: a transport plan ``P >= 0`` with ``P 1 = ref`` and ``<D, P> <= eps`` moves reference mass;
``w = P^T 1``. Dual (Esfahani & Kuhn; Gao & Kleywegt, finite support):

    ``V = sup_{lam >= 0} h(lam)``,  ``h(lam) = -lam eps + sum_i ref_i min_j (u_j + lam D_ij)``,

concave and piecewise linear in ``lam``. At any ``lam`` the greedy plan (each source ``i`` moves to
``argmin_j u_j + lam D_ij``) has cost ``c(lam)`` and ``c(lam) - eps`` is a supergradient. The solver
brackets the maximiser between ``lo`` (``c > eps``) and ``hi`` (``c <= eps``), shrinks the bracket
with cutting planes (the intersection of the two tangent lines, bisection as a safeguard) and mixes
the two greedy plans to spend exactly ``eps``. The mix's value equals the cutting-plane upper bound,
so stopping when that bound meets ``max h`` certifies the answer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet, as_float64
from droiz.ambiguity.tv import TVBall, total_variation
from droiz.exceptions import AmbiguitySetError

DISCRETE = "discrete"
_CHUNK_ELEMENTS = 1 << 22  # at most this many N x K x K scores in memory at once
_MAX_ITER = 200
_GAP_RTOL = 1e-13  # stop when upper bound - max h <= this fraction of the range of u
_PRICE_OUT = 1e200  # multiplies the excess score of a non-best move (see _scores)
_STALL = 3  # bisect after this many cutting-plane updates of the same end of the bracket


class _Greedy(NamedTuple):
    h: Tensor  # N x 1 dual objective
    cost: Tensor  # N x 1 transport cost of the greedy plan


@AMBIGUITY_SETS.register("w1")
class WassersteinBall(AmbiguitySet):
    """Wasserstein-1 ball of radius ``eps`` under the ground cost ``cost``.

    Mass can move onto groups with ``ref = 0``. With ``cost="discrete"`` (``D_ij = 1[i != j]``,
    the default and what the spec ``"w1:R"`` gives) the ball is the TV ball of radius ``eps`` and
    is solved as one; the matrix then needs no K. The dual variable is ``lam``.

    Args:
        eps: Radius (a transport budget in units of ``cost``), ``>= 0``.
        cost: ``K x K`` ground cost (tensor or array) with zero diagonal and non-negative entries,
            or ``"discrete"``.
    """

    name = "w1"
    radius_name = "eps"

    def __init__(self, eps: float, cost: Tensor | ArrayLike = DISCRETE) -> None:
        super().__init__(eps)
        self._cost: Tensor | None = None if _is_discrete(cost) else _check_cost(cost)

    @property
    def cost(self) -> Tensor | str:
        """The ``K x K`` float64 ground cost, or ``"discrete"``."""
        return DISCRETE if self._cost is None else self._cost

    def __repr__(self) -> str:
        if self._cost is None:
            return f"WassersteinBall(eps={self.radius!r}, cost={DISCRETE!r})"
        k = self._cost.shape[0]
        return f"WassersteinBall(eps={self.radius!r}, cost=<{k}x{k} matrix>)"

    def to_spec(self) -> str:
        if self._cost is not None:
            raise AmbiguitySetError(
                "a WassersteinBall with a cost matrix has no spec string (only 'w1:R', the "
                "discrete cost, has one); build it in Python with WassersteinBall(eps, cost)"
            )
        return super().to_spec()

    def to_dict(self) -> dict[str, Any]:
        cost = DISCRETE if self._cost is None else self._cost.tolist()
        return {**super().to_dict(), "cost": cost}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AmbiguitySet:
        return cls(data["radius"], data.get("cost", DISCRETE))

    def _key(self) -> tuple[Any, ...]:
        cost = None if self._cost is None else tuple(self._cost.flatten().tolist())
        return (*super()._key(), cost)

    def _solve(self, u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
        if self._cost is None:
            return TVBall(self.radius)._solve(u, ref)
        cost = self._matrix(u.shape[-1], u.device)
        rows = max(1, _CHUNK_ELEMENTS // cost.numel())
        parts = [_solve_chunk(c, ref, cost, self.radius) for c in torch.split(u, rows)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """``W_1(ref, w)``: the cheapest transport of ``ref`` onto ``w`` under the ground cost
        (half the L1 distance for the discrete cost; a linear program, solved exactly by
        SciPy's HiGHS, for a cost matrix)."""
        if self._cost is None:
            return total_variation(w, ref)
        cost = self._matrix(w.shape[-1], w.device)
        return torch.tensor([transport_cost(ref, row, cost) for row in w], dtype=torch.float64)

    def _dual(self, u: Tensor, ref: Tensor, dual: Tensor) -> Tensor:
        """``h(lam) = -lam eps + sum_i ref_i min_j (u_j + lam D_ij)``."""
        if self._cost is None:
            return TVBall(self.radius)._dual(u, ref, dual)
        cost = self._matrix(u.shape[-1], u.device)
        rows = max(1, _CHUNK_ELEMENTS // cost.numel())
        parts = [
            _greedy(uc, ref, cost, lc.unsqueeze(-1), self.radius).h.squeeze(-1)
            for uc, lc in zip(torch.split(u, rows), torch.split(dual, rows), strict=True)
        ]
        return torch.cat(parts)

    def _matrix(self, k: int, device: torch.device) -> Tensor:
        assert self._cost is not None
        if self._cost.shape[0] != k:
            raise AmbiguitySetError(
                f"WassersteinBall cost is {self._cost.shape[0]}x{self._cost.shape[0]} but u has "
                f"K={k} groups; pass a K x K cost matrix"
            )
        return self._cost.to(device)


def transport_cost(source: Tensor, target: Tensor, cost: Tensor) -> float:
    """The least ``<cost, P>`` over transport plans ``P >= 0`` with row sums ``source`` and column
    sums ``target`` (both ``K``, summing to 1)."""
    from scipy.optimize import linprog

    k = len(source)
    eye = np.eye(k)
    rows, cols = np.kron(eye, np.ones((1, k))), np.kron(np.ones((1, k)), eye)
    b = np.concatenate([source.cpu().numpy(), target.cpu().numpy()])
    result = linprog(
        cost.cpu().numpy().reshape(-1),
        A_eq=np.vstack([rows, cols]),
        b_eq=b,
        bounds=(0, None),
        method="highs",
    )
    if not result.success:  # cannot happen for two distributions: say what the solver said
        raise AmbiguitySetError(f"the transport problem failed: {result.message}")
    return float(result.fun)


def _is_discrete(cost: Tensor | ArrayLike) -> bool:
    if isinstance(cost, str):
        if cost != DISCRETE:
            raise AmbiguitySetError(
                f"WassersteinBall cost must be a K x K matrix or {DISCRETE!r}, got {cost!r}"
            )
        return True
    return False


def _check_cost(cost: Tensor | ArrayLike) -> Tensor:
    """Validate a ground-cost matrix and return it as a detached float64 CPU tensor."""
    d = as_float64(np.asarray(cost) if not isinstance(cost, Tensor) else cost, "cost")
    d = d.detach().cpu()
    if d.dim() != 2 or d.shape[0] != d.shape[1] or d.shape[0] == 0:
        raise AmbiguitySetError(
            f"WassersteinBall cost must be a square K x K matrix, got shape {tuple(d.shape)}"
        )
    if not bool(torch.isfinite(d).all()) or bool((d < 0).any()):
        raise AmbiguitySetError(
            "WassersteinBall cost must be finite and non-negative; got a negative or non-finite "
            "entry, so fix the ground cost"
        )
    if bool((d.diagonal() != 0).any()):
        i = int((d.diagonal() != 0).nonzero()[0])
        raise AmbiguitySetError(
            "WassersteinBall cost must have a zero diagonal (staying put is free), got "
            f"cost[{i}, {i}] = {d[i, i].item()!r}; set the diagonal to 0"
        )
    return d


def _scores(u: Tensor, cost: Tensor, lam: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Row minima of ``u_j + lam D_ij`` over destinations j (``N x K``, one per source i), the
    cost of each move with non-best moves priced out (``N x K x K``), and whether staying put is
    among the best moves (``N x K``)."""
    score = torch.addcmul(u.unsqueeze(-2), lam.unsqueeze(-1), cost)
    best = score.amin(-1)
    # Ties keep their cost; an excess of 1e-17 (an ulp, as u is in [0, 1]) already adds 1e183.
    priced = score.sub_(best.unsqueeze(-1)).mul_(_PRICE_OUT).add_(cost)
    return best, priced, u <= best


def _greedy(u: Tensor, ref: Tensor, cost: Tensor, lam: Tensor, eps: float) -> _Greedy:
    """Dual objective and cost of the greedy plan at ``lam`` (``N x 1``); see :func:`_plan`."""
    best, priced, stay = _scores(u, cost, lam)
    move_cost = torch.where(stay, 0.0, priced.amin(-1))
    h = (ref * best).sum(-1, keepdim=True) - lam * eps
    return _Greedy(h, (ref * move_cost).sum(-1, keepdim=True))


def _plan(u: Tensor, ref: Tensor, cost: Tensor, lam: Tensor) -> Tensor:
    """``N x K`` distribution of the greedy plan at ``lam``: each source stays if that is among
    its best moves, else moves to the cheapest of them (so the plan does not depend on order)."""
    _, priced, stay = _scores(u, cost, lam)
    dest = torch.where(stay, torch.arange(u.shape[-1], device=u.device), priced.argmin(-1))
    return torch.zeros_like(u).scatter_add(-1, dest, ref.expand(u.shape))


def _solve_chunk(u: Tensor, ref: Tensor, cost: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Solve ``N x K`` utilities; returns ``N x K`` weights and the ``N`` optimal ``lam``."""
    v = u - u.amin(-1, keepdim=True)  # translation invariance
    spread = v.amax(-1, keepdim=True)
    spread = torch.where(spread > 0, spread, 1.0)
    v = v / spread  # scale invariance: v in [0, 1], lam in units of the range of u
    tol = torch.full_like(spread, _GAP_RTOL)
    lo = torch.zeros_like(v[..., :1])
    at_lo = _greedy(v, ref, cost, lo, eps)
    hi = _lambda_max(v, ref, cost)
    at_hi = _greedy(v, ref, cost, hi, eps)
    lo, hi, at_lo, at_hi = _cutting_planes(v, ref, cost, eps, tol, (lo, hi, at_lo, at_hi))
    w_lo, w_hi = _plan(v, ref, cost, lo), _plan(v, ref, cost, hi)
    cost_gap = at_lo.cost - at_hi.cost
    theta = torch.where(cost_gap > 0, (eps - at_hi.cost) / cost_gap.clamp(min=1e-300), 0.0)
    weights = theta.clamp(0.0, 1.0) * w_lo + (1.0 - theta.clamp(0.0, 1.0)) * w_hi
    lam = torch.where(at_lo.h >= at_hi.h, lo, hi) * spread
    return weights, lam.squeeze(-1)


def _lambda_max(v: Tensor, ref: Tensor, cost: Tensor) -> Tensor:
    """``N x 1`` multiplier beyond which no source gains by moving (so ``c(hi) = 0 <= eps``)."""
    gain = v.unsqueeze(-1) - v.unsqueeze(-2)  # v_i - v_j
    ratio = torch.where((cost > 0) & (ref > 0).unsqueeze(-1), gain / cost, 0.0)
    lam = ratio.flatten(-2).amax(-1, keepdim=True)
    return torch.where(lam > 0, 2.0 * lam, 1.0)


def _cutting_planes(
    v: Tensor,
    ref: Tensor,
    cost: Tensor,
    eps: float,
    tol: Tensor,
    state: tuple[Tensor, Tensor, _Greedy, _Greedy],
) -> tuple[Tensor, Tensor, _Greedy, _Greedy]:
    """Shrink ``[lo, hi]`` until the tangent lines' intersection is within ``tol`` of ``max h``."""
    lo, hi, at_lo, at_hi = state
    done = at_lo.cost <= eps  # the budget reaches the minimum already: lam* = 0, hi := lo
    hi, at_hi = torch.where(done, lo, hi), _select(done, at_lo, at_hi)
    stall, last = torch.zeros_like(lo), torch.zeros_like(lo)
    for _ in range(_MAX_ITER):
        s_lo, s_hi = at_lo.cost - eps, at_hi.cost - eps
        cross = (at_hi.h - at_lo.h + s_lo * lo - s_hi * hi) / (s_lo - s_hi).clamp(min=1e-300)
        upper = at_lo.h + s_lo * (cross - lo)
        done = done | (upper - torch.maximum(at_lo.h, at_hi.h) <= tol)
        if bool(done.all()):
            break
        bisect = stall >= _STALL
        x = torch.where(bisect, 0.5 * (lo + hi), torch.minimum(torch.maximum(cross, lo), hi))
        at_x = _greedy_rows(v, ref, cost, x, eps, ~done)
        left = (at_x.cost > eps) & ~done
        right = (at_x.cost <= eps) & ~done
        side = left.to(lo.dtype) - right.to(lo.dtype)
        stall = torch.where(bisect, 0.0, torch.where(side == last, stall + 1.0, 1.0))
        last = side
        lo, at_lo = torch.where(left, x, lo), _select(left, at_x, at_lo)
        hi, at_hi = torch.where(right, x, hi), _select(right, at_x, at_hi)
    return lo, hi, at_lo, at_hi


def _greedy_rows(
    u: Tensor, ref: Tensor, cost: Tensor, lam: Tensor, eps: float, rows: Tensor
) -> _Greedy:
    """:func:`_greedy` evaluated only on the ``rows`` (``N x 1`` mask); other rows get NaN."""
    idx = rows.squeeze(-1).nonzero().squeeze(-1)
    part = _greedy(u[idx], ref, cost, lam[idx], eps)
    out = _Greedy(torch.full_like(lam, torch.nan), torch.full_like(lam, torch.nan))
    out.h[idx], out.cost[idx] = part.h, part.cost
    return out


def _select(mask: Tensor, a: _Greedy, b: _Greedy) -> _Greedy:
    """Row-wise ``a`` where ``mask`` (``N x 1``) else ``b``."""
    return _Greedy(torch.where(mask, a.h, b.h), torch.where(mask, a.cost, b.cost))
