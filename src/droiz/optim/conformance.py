"""The engine's conformance checks: the contract every registered method must keep.

Run them on a method of your own with :func:`droiz.testing.check_method` (or call the ``check_*``
functions from your own tests). Each check drives small engines (``d = 2``, a few rounds, tiny
CMA-ES searches) through :class:`~droiz.optim.RobustBO` and raises ``AssertionError`` with a
one-line reason when the contract breaks:

* :func:`check_proposals`: every ask is a well-formed :class:`~droiz.optim.Proposal` of distinct,
  new points in the box, its rounds count 0 (initial design), 1, 2, ...;
* :func:`check_budget`: the last ask is clipped to the budget, then ``stop()`` says so and ``ask``
  raises;
* :func:`check_state_round_trip`: a JSON round trip of ``state_dict()`` between rounds and in the
  middle of one gives identical next asks;
* :func:`check_dtypes`: float32 and float64 inputs give the same run;
* :func:`check_group_counts`: K = 1 and K = 32 groups work;
* :func:`check_kl0_is_nominal`: the method's acquisition and final pick with ``KLBall(0)`` equal
  those with ``Nominal()`` (the KL ball of radius 0 is the reference alone);
* :func:`check_candidates`: a search over a finite set of candidates proposes candidates only,
  never observes a (candidate, group) pair twice, ends once every pair is observed, and survives
  a ``state_dict()`` round trip mid-round.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from droiz.ambiguity import (
    AMBIGUITY_SETS,
    AmbiguitySet,
    KLBall,
    Nominal,
    WassersteinBall,
    parse_ambiguity,
)
from droiz.exceptions import ConfigError
from droiz.optim.engine import RobustBO
from droiz.optim.methods import METHODS
from droiz.optim.proposal import Proposal

TINY: dict[str, Any] = {
    "n_init": 4,
    "batch_size": 4,
    "cma_starts": 2,
    "cma_popsize": 6,
    "cma_generations": 2,
    "fit_maxiter": 15,
}
"""Engine settings of the checks: a 4-point design, rounds of 4, tiny CMA-ES searches."""


def objective(z: Tensor, n_groups: int) -> Tensor:
    """A smooth per-group objective in ``[0.1, 0.9]`` (``n x K``, float64)."""
    z = z.to(torch.float64)
    phase = torch.arange(n_groups, dtype=torch.float64)
    return 0.5 + 0.4 * torch.sin(2 * z[:, :1] + phase) * torch.cos(z[:, -1:] - phase / n_groups)


def ambiguity_sets() -> list[AmbiguitySet]:
    """One instance of every registered ambiguity set, plus a W1 ball with a cost matrix."""
    out: list[AmbiguitySet] = []
    for name in AMBIGUITY_SETS.names():
        try:
            out.append(parse_ambiguity(name if name == "nominal" else f"{name}:0.3"))
        except ConfigError:  # a user's set with no radius-only spec: give it to check_method
            continue
    cost = torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    return [*out, WassersteinBall(0.3, cost)]


def make_engine(
    method: str,
    ambiguity: AmbiguitySet | str = "kl:0.5",
    *,
    n_groups: int = 3,
    budget: int = 12,
    seed: int = 3,
    **options: Any,
) -> RobustBO:
    """A small engine for the checks (``d = 2``, :data:`TINY` settings)."""
    settings = {**TINY, **options}
    return RobustBO(2, n_groups, method, ambiguity, budget=budget, seed=seed, **settings)


def drive(
    bo: RobustBO, rounds: int | None = None, dtype: torch.dtype = torch.float64
) -> list[Proposal]:
    """Ask and tell ``rounds`` rounds (default: to the end of the budget); the proposals."""
    asked: list[Proposal] = []
    while not bo.stop() and (rounds is None or len(asked) < rounds):
        p = bo.ask()
        y = objective(p.z, bo.config.n_groups).to(dtype)
        bo.tell(p.z.to(dtype), y)
        asked.append(p)
    return asked


def _same(a: Proposal, b: Proposal, what: str) -> None:
    same = torch.equal(a.z, b.z) and torch.equal(a.groups, b.groups)
    same = same and torch.equal(a.weights, b.weights) and (a.round, a.id) == (b.round, b.id)
    assert same, f"{what}: the next proposals differ (round {a.round} vs {b.round})"


def check_proposals(method: str, ambiguity: AmbiguitySet | str = "kl:0.5") -> None:
    """Well-formed proposals of distinct new points; rounds 0, 1, 2, ...; ids unique."""
    bo = make_engine(method, ambiguity)
    k, per = bo.config.n_groups, min(bo.config.groups_per_round, bo.config.n_groups)
    told = torch.zeros(0, 2, dtype=torch.float64)
    rounds, ids = [], set()
    while not bo.stop():
        p = bo.ask()
        n = len(p)
        assert p.z.shape == (n, 2) and p.z.dtype == torch.float64, f"z has shape {p.z.shape}"
        assert p.z.abs().max() <= 1.0, "z leaves [-1, 1]^d"
        assert p.groups.shape == (n, k) and p.groups.dtype == torch.bool, "groups not n x K bool"
        assert (p.groups.sum(-1) == per).all(), "each point must observe groups_per_round groups"
        assert p.weights.shape == (k,) and math.isclose(float(p.weights.sum()), 1.0), "weights"
        assert torch.equal(p.weights, bo.reference), "weights must be the reference it used"
        gap = torch.cat([told, p.z]).unsqueeze(0) - p.z.unsqueeze(1)
        gap = gap.abs().amax(-1) + torch.cat([torch.zeros(n, len(told)), torch.eye(n) * 9], -1)
        assert (gap > 1e-6).all(), f"round {p.round} repeats a point"
        assert p.id not in ids, f"proposal id {p.id} repeats"
        rounds.append(p.round)
        ids.add(p.id)
        bo.tell(p, objective(p.z, k))
        told = torch.cat([told, p.z])
    design = -(-bo.config.n_init // bo.config.batch_size)
    expected = [0] * design + list(range(1, len(rounds) - design + 1))
    assert rounds == expected, f"rounds {rounds}, expected {expected}"
    assert bo.result.index in range(bo.n_evaluations)


def check_budget(method: str) -> None:
    """The last ask is clipped to the budget; afterwards ``stop()`` says so and ``ask`` raises."""
    bo = make_engine(method, budget=10)
    sizes = [len(p) for p in drive(bo)]
    assert sizes == [4, 4, 2], f"asked {sizes} for a budget of 10 in rounds of 4"
    assert bo.n_evaluations == 10 and bo.stop() == {"budget": 10}, f"stop() = {bo.stop()}"
    try:
        bo.ask()
    except ConfigError:
        return
    raise AssertionError("ask() after the budget must raise ConfigError")


def check_state_round_trip(method: str, ambiguity: AmbiguitySet | str = "kl:0.5") -> None:
    """``state_dict()`` through JSON, between rounds and mid-round, gives identical next asks."""
    a = make_engine(method, ambiguity, budget=16)
    drive(a, rounds=2)
    b = RobustBO.from_state_dict(json.loads(json.dumps(a.state_dict())))
    pa, pb = a.ask(), b.ask()
    _same(pa, pb, "after a state_dict round trip")
    for bo, p in ((a, pa), (b, pb)):
        bo.tell(p[:1], objective(p.z[:1], 3))
    c = RobustBO.from_state_dict(json.loads(json.dumps(a.state_dict())))
    for bo in (a, c):
        bo.tell(pa[1:], objective(pa.z[1:], 3))
    _same(a.ask(), c.ask(), "after a mid-round state_dict round trip")


def check_dtypes(method: str) -> None:
    """float32 and float64 inputs give the same run (told points are matched to the asked)."""
    runs = []
    for dtype in (torch.float64, torch.float32):
        bo = make_engine(method)
        for _ in range(2):
            p = bo.ask()
            y = objective(p.z, 3).to(torch.float32)  # values both dtypes hold exactly
            bo.tell(p.z.to(dtype), y.to(dtype))
        runs.append(bo.ask())
    _same(runs[0], runs[1], "float32 vs float64 inputs")


def check_group_counts(method: str, counts: Sequence[int] = (1, 32)) -> None:
    """The method runs two BO rounds with K = 1 and with K = 32 groups."""
    for k in counts:
        bo = make_engine(method, n_groups=k, budget=12)
        for p in drive(bo):
            assert p.groups.shape == (len(p), k) and p.groups.any(-1).all(), f"K={k}: groups"
        assert bo.n_evaluations == 12, f"K={k}: {bo.n_evaluations} evaluations told"
        assert 0 <= bo.result.index < 12


def check_kl0_is_nominal(method: str) -> None:
    """With ``KLBall(0)`` the acquisition and the final pick equal those with ``Nominal()``."""
    bo = make_engine(method, KLBall(0.0), reference=[0.5, 0.3, 0.2], reference_update="none")
    drive(bo, rounds=2)
    ctx = bo.context()
    nominal = dataclasses.replace(ctx, ambiguity=Nominal())
    spec = bo.method_spec
    if spec.acquisition is not None:
        model = bo.surrogate()
        x = torch.rand(16, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        x = x * 2 - 1
        with torch.no_grad():
            kl0 = spec.acquisition(model, ctx)(x)
            nom = spec.acquisition(model, nominal)(x)
        torch.testing.assert_close(kl0, nom, rtol=1e-9, atol=1e-9)
    from droiz.optim.selection import SELECTIONS

    crit = SELECTIONS.get(spec.final_pick)
    fitted = bo.surrogate() if crit.needs_model else None
    torch.testing.assert_close(crit.score(fitted, ctx), crit.score(fitted, nominal))


def check_candidates(method: str) -> None:
    """A candidate search (6 candidates x 3 groups, more budget than pairs): only candidates are
    proposed (``index`` names them), no (candidate, group) pair is observed twice, the run ends
    with ``stop() == {"exhausted": 18}`` and a raising ``ask``, and a JSON ``state_dict()`` round
    trip in the middle of a round gives identical next asks."""
    features = torch.rand(6, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a = make_engine(method, budget=40, candidates=features)
    b: RobustBO | None = None
    seen: set[tuple[int, int]] = set()
    while not a.stop():
        p = a.ask()
        assert a.candidates is not None and p.index is not None, "not candidates"
        assert torch.equal(p.z, a.candidates[p.index]), "not candidates"
        assert len(set(p.index.tolist())) == len(p), f"round {p.round} repeats a candidate"
        for c, row in zip(p.index.tolist(), p.groups, strict=True):
            pairs = {(c, g) for g in row.nonzero().flatten().tolist()}
            assert pairs and not pairs & seen, f"round {p.round} observes pair(s) {pairs & seen}"
            seen |= pairs
        a.tell(p[:1], objective(p.z[:1], 3))
        if b is None and p.round == 1:  # mid-round, in the first BO round
            b = RobustBO.from_state_dict(json.loads(json.dumps(a.state_dict())))
            b.tell(p[1:], objective(p.z[1:], 3))
            a.tell(p[1:], objective(p.z[1:], 3))
            _same(a.ask(), b.ask(), "after a mid-round state_dict round trip (candidates)")
            a.abandon()
            continue
        if len(p) > 1:
            a.tell(p[1:], objective(p.z[1:], 3))
    assert b is not None, "the search never reached a BO round"
    assert len(seen) == 18 and a.stop() == {"exhausted": 18}, f"stop() = {a.stop()}"
    try:
        a.ask()
    except ConfigError:
        return
    raise AssertionError("ask() after every pair was observed must raise ConfigError")


CHECKS: dict[str, Callable[..., None]] = {
    "proposals": check_proposals,
    "budget": check_budget,
    "state_round_trip": check_state_round_trip,
    "dtypes": check_dtypes,
    "group_counts": check_group_counts,
    "kl0_is_nominal": check_kl0_is_nominal,
    "candidates": check_candidates,
}
"""Every check by name; ``proposals`` and ``state_round_trip`` also take an ambiguity set."""

PER_AMBIGUITY = ("proposals", "state_round_trip")


def check_method(name: str, ambiguities: Iterable[AmbiguitySet | str] | None = None) -> None:
    """Run every conformance check on the registered method ``name``.

    Args:
        name: A registered method (see :func:`~droiz.optim.register_method`).
        ambiguities: The ambiguity sets to run the per-set checks with (default: one of every
            registered set and a W1 ball with a cost matrix).

    Raises:
        AssertionError: A check failed (the message names it).
    """
    METHODS.get(name)
    sets = list(ambiguity_sets() if ambiguities is None else ambiguities)
    for check, fn in CHECKS.items():
        for amb in sets if check in PER_AMBIGUITY else [None]:
            try:
                fn(name) if amb is None else fn(name, amb)
            except AssertionError as exc:
                where = "" if amb is None else f" with {amb!r}"
                raise AssertionError(f"method {name!r} fails {check}{where}: {exc}") from exc
