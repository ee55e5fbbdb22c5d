"""The candidate search: ``RobustBO(candidates=F)`` searches a finite set of candidates, maximises
the acquisition exactly over them and never observes a (candidate, group) pair twice."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from droiz.exceptions import ConfigError, ShapeError
from droiz.optim import METHODS, RobustBO
from droiz.optim.candidates import maximise_discrete, scale_candidates
from droiz.optim.conformance import objective

FAST = {"fit_maxiter": 15, "n_init": 4, "batch_size": 3}
BUILTIN = ("dro", "ei", "ucb", "hybrid", "ucb-sum", "random", "dro-nobo")


def features(n: int, d: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def run(bo: RobustBO) -> list:
    asked = []
    while not bo.stop():
        p = bo.ask()
        bo.tell(p, objective(p.z, bo.config.n_groups))
        asked.append(p)
    return asked


def pairs_of(p) -> list[tuple[int, int]]:
    return [
        (c, g)
        for c, row in zip(p.index.tolist(), p.groups, strict=True)
        for g in row.nonzero().flatten().tolist()
    ]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(BUILTIN),
    seed=st.integers(0, 2**16),
    n=st.integers(3, 9),
    k=st.integers(1, 4),
    rule=st.sampled_from(("reference", "adversarial")),
)
def test_no_two_evaluations_observe_the_same_candidate_and_group(
    method: str, seed: int, n: int, k: int, rule: str
) -> None:
    bo = RobustBO(
        n_groups=k, method=method, budget=60, seed=seed, candidates=features(n, seed=seed),
        group_selection=rule, cma_starts=1, **FAST,
    )  # fmt: skip
    asked = run(bo)
    pairs = [pair for p in asked for pair in pairs_of(p)]
    assert len(pairs) == len(set(pairs))
    for p in asked:
        assert torch.equal(p.z, bo.candidates[p.index])  # the candidates themselves
        assert (p.groups.sum(-1) >= 1).all() and (p.groups.sum(-1) <= 2).all()
    # more budget than pairs: the run ends when every pair is observed
    assert len(pairs) == n * k and bo.stop() == {"exhausted": n * k}
    assert 0 <= bo.result.index < bo.n_evaluations


@pytest.mark.parametrize("method", ["dro", "ei", "ucb", "hybrid", "ucb-sum"])
def test_a_bo_round_proposes_the_exact_argmax_over_the_candidates(method: str) -> None:
    bo = RobustBO(n_groups=3, method=method, budget=40, seed=2, candidates=features(25), **FAST)
    for _ in range(3):  # the design, then two BO rounds
        p = bo.ask()
        bo.tell(p, objective(p.z, 3))
    p = bo.ask()
    assert p.round == 2
    free = bo.free_pairs()
    free[p.index] |= p.groups  # the pairs before this ask
    allowed = free.any(-1).nonzero().flatten()
    acq = METHODS.get(method).acquisition(bo.surrogate(), bo.context())  # this round's
    with torch.no_grad():
        values = acq(bo.candidates[allowed].unsqueeze(-2))
    brute = allowed[torch.argsort(values, descending=True, stable=True)[: len(p)]]
    assert p.index.tolist() == brute.tolist()


def test_maximise_discrete_is_the_top_n_by_value() -> None:
    class Value(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return -(x.squeeze(-2) - 0.3).pow(2).sum(-1)

    choices = features(40)
    picked = maximise_discrete(Value(), choices, 5)  # type: ignore[arg-type]
    values = -(choices - 0.3).pow(2).sum(-1)
    assert picked.tolist() == torch.argsort(values, descending=True)[:5].tolist()


def test_a_candidate_comes_back_only_for_its_unobserved_groups() -> None:
    """With 4 candidates, K = 3 and 2 groups an evaluation, the second visit of a candidate
    observes its one remaining group: fewer than groups_per_round."""
    bo = RobustBO(n_groups=3, method="random", budget=30, seed=0, candidates=features(4), **FAST)
    asked = run(bo)
    visits: dict[int, list[int]] = {}
    for p in asked:
        for c, row in zip(p.index.tolist(), p.groups, strict=True):
            visits.setdefault(c, []).append(int(row.sum()))
    assert visits and all(v == [2, 1] for v in visits.values())
    assert bo.n_evaluations == 8 and bo.stop() == {"exhausted": 12}
    with pytest.raises(ConfigError, match=r"every \(candidate, group\) pair of the 4 candidates"):
        bo.ask()


def test_the_initial_design_is_a_seeded_subset_of_the_candidates() -> None:
    def design(seed: int) -> list[int]:
        bo = RobustBO(n_groups=2, method="dro", seed=seed, candidates=features(30), **FAST)
        return bo.ask().index.tolist()

    assert design(1) == design(1) and len(set(design(1))) == 3 and design(1) != design(2)


def test_a_seeded_candidate_search_is_deterministic_and_survives_a_state_round_trip() -> None:
    def make() -> RobustBO:
        return RobustBO(
            n_groups=3, method="dro", budget=15, seed=5, candidates=features(12), **FAST
        )

    a, b = make(), make()
    assert [p.index.tolist() for p in run(a)] == [p.index.tolist() for p in run(b)]
    c = make()
    p = c.ask()
    c.tell(p, objective(p.z, 3))
    p = c.ask()
    c.tell(p[:1], objective(p.z[:1], 3))
    d = RobustBO.from_state_dict(json.loads(json.dumps(c.state_dict())))
    assert torch.equal(d.candidates, c.candidates) and torch.equal(d.pending.index, p.index)
    for bo in (c, d):
        bo.tell(p[1:], objective(p.z[1:], 3))
    pc, pd = c.ask(), d.ask()
    assert pc.index.tolist() == pd.index.tolist() and torch.equal(pc.groups, pd.groups)


def test_telling_a_pair_observed_before_is_refused() -> None:
    bo = RobustBO(n_groups=2, method="dro", budget=10, candidates=features(5), **FAST)
    p = bo.ask()
    bo.tell(p, objective(p.z, 2))
    z = bo.candidates[p.index[:1]]
    y = objective(z, 2)
    with pytest.raises(ConfigError, match=f"candidate {int(p.index[0])} was already observed"):
        bo.tell(z, y, groups=torch.ones(1, 2, dtype=torch.bool), external=True)
    with pytest.raises(ConfigError, match="not one of the engine's candidates"):
        bo.tell(z + 0.01, y, groups=torch.ones(1, 2, dtype=torch.bool), external=True)


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ([[0.0, 1.0], [0.0, 1.0]], ConfigError, "candidates 0 and 1 have the same features"),
        ([[0.0, float("nan")]], ConfigError, "finite features"),
        ([1.0, 2.0], ShapeError, "non-empty N x d matrix"),
        ([["a", "b"]], ShapeError, "N x d matrix of numbers"),
    ],
)
def test_bad_candidates_are_refused_in_one_line(given: list, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as info:
        RobustBO(n_groups=2, candidates=given)
    assert "\n" not in str(info.value)
    with pytest.raises(ShapeError, match="candidates have 2 features but dim is 3"):
        RobustBO(dim=3, n_groups=2, candidates=[[0.0, 1.0], [1.0, 0.0]])


def test_the_features_are_scaled_into_the_box_by_one_affine_map() -> None:
    raw = torch.tensor([[0.0, 10.0, 5.0], [4.0, 12.0, 5.0], [2.0, 11.0, 5.0]])
    scaled = scale_candidates(raw.to(torch.float64))
    # each column centred on its range, all divided by the widest half-range (2.0)
    expected = torch.tensor([[-1.0, -0.5, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(scaled, expected.to(torch.float64))


def test_random_picks_from_every_observation_of_a_candidate() -> None:
    """``observed-nominal`` joins a candidate's evaluations: a candidate seen on both groups in two
    evaluations is scored on both, not on one at a time."""
    bo = RobustBO(n_groups=2, method="random", budget=10, groups_per_round=1, **FAST,
                  candidates=[[0.0], [1.0]], reference=[0.5, 0.5])  # fmt: skip
    z = bo.candidates
    one = torch.ones(1, 1, dtype=torch.bool)
    for row, group, value in ((0, 0, 0.9), (0, 1, 0.1), (1, 0, 0.6), (1, 1, 0.6)):
        mask = torch.zeros(1, 2, dtype=torch.bool)
        mask[0, group] = one
        bo.tell(z[row : row + 1], torch.full((1, 2), value), groups=mask, external=True)
    best = bo.best()
    # candidate 0 averages 0.5 over its groups, candidate 1 0.6: candidate 1 wins
    assert int(bo.candidate_index(bo.obs.z[best.index])) == 1
    assert best.value == pytest.approx(0.6)


# rows: candidates; columns: groups. 1 has the best mean but fails group 2; 2 is the robust one
TRUTH = torch.tensor(
    [[0.2, 0.2, 0.2], [1.0, 1.0, 0.0], [0.6, 0.6, 0.6], [0.5, 0.7, 0.3]], dtype=torch.float64
)


@pytest.mark.parametrize(("method", "expected"), [("dro", 2), ("hybrid", 2), ("ucb", 1), ("ei", 1)])
def test_over_one_hot_candidates_robust_methods_pick_the_best_worst_case(
    method: str, expected: int
) -> None:
    """The DSPy optimizer's search: exchangeable candidates (one-hot corners), one evaluation a
    round; ``dro`` and ``hybrid`` pick the best worst group, ``ucb`` and ``ei`` the best mean."""
    bo = RobustBO(n_groups=3, method=method, budget=12, seed=0, n_init=4, batch_size=1,
                  candidates=torch.eye(4, dtype=torch.float64) * 2 - 1)  # fmt: skip
    while not bo.stop():
        p = bo.ask()
        bo.tell(p, torch.where(p.groups, TRUTH[p.index], torch.nan))
    assert int(bo.candidate_index(bo.result.z)[0]) == expected
