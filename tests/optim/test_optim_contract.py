"""The strict round contract of RobustBO: proposals, tells in any split, and every error case."""

from __future__ import annotations

import json

import pytest
import torch

from droiz import RobustBO, WassersteinBall
from droiz.acquisition import beta_schedule
from droiz.exceptions import ConfigError, ShapeError
from droiz.optim import Proposal
from droiz.optim.conformance import TINY, objective


def make(method: str = "dro", budget: int = 16, **kw: object) -> RobustBO:
    return RobustBO(dim=2, n_groups=3, method=method, budget=budget, seed=1, **{**TINY, **kw})


def test_a_proposal_holds_the_round_contract() -> None:
    bo = make()
    p = bo.ask()
    assert isinstance(p, Proposal) and p.round == 0 and isinstance(p.id, str)
    assert p.z.shape == (4, 2) and p.groups.shape == (4, 3) and p.groups.dtype == torch.bool
    assert torch.equal(p.weights, bo.reference) and bo.stop() == {}
    bo.tell(p, objective(p.z, 3))
    q = bo.ask()  # the Sobol design is round 0, so the first BO round is round 1: beta(1)
    assert q.round == 1 and bo.context().beta == beta_schedule(1) and q.id != p.id


def test_asking_again_with_untold_rows_raises_until_they_are_abandoned() -> None:
    bo = make()
    p = bo.ask()
    bo.tell(p[:1], objective(p.z[:1], 3))
    with pytest.raises(ConfigError, match=r"3 of 4 rows untold.*abandon"):
        bo.ask()
    assert bo.abandon() == 3 and bo.n_evaluations == 1
    q = bo.ask()  # the abandoned design points do not count toward the initial design
    assert q.round == 0 and len(q) == 4
    sobol = torch.quasirandom.SobolEngine(2, scramble=True, seed=1).draw(8, dtype=torch.float64)
    torch.testing.assert_close(q.z, sobol[4:] * 2 - 1)  # the Sobol sequence continues
    with pytest.raises(ConfigError, match="is not open"):
        bo.tell(p[1:], objective(p.z[1:], 3))  # the abandoned rows cannot be told any more


def test_points_never_asked_need_external_and_count_toward_the_initial_design() -> None:
    bo = make(n_init=4)
    z = torch.tensor([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6], [0.7, 0.8]], dtype=torch.float64)
    with pytest.raises(ConfigError, match=r"never asked.*external=True"):
        bo.tell(z, objective(z, 3), torch.ones(4, 3, dtype=torch.bool))
    with pytest.raises(ConfigError, match="needs groups="):
        bo.tell(z, objective(z, 3), external=True)
    bo.tell(z, objective(z, 3), torch.ones(4, 3, dtype=torch.bool), external=True)
    p = bo.ask()
    assert p.round == 1 and bo.n_design == 4  # no Sobol round: the design is complete
    with pytest.raises(ConfigError, match="never asked in proposal"):
        bo.tell(z[:1], objective(z[:1], 3))
    with pytest.raises(ConfigError, match="external=True is for your own"):
        bo.tell(p, objective(p.z, 3), external=True)


def test_told_rows_are_checked_against_what_was_asked() -> None:
    bo = make()
    p = bo.ask()
    with pytest.raises(ConfigError, match="no evaluations"):
        bo.tell(p.z[:0], objective(p.z[:0], 3))
    with pytest.raises(ConfigError, match="were asked but groups= leaves them out"):
        bo.tell(p, objective(p.z, 3), groups=torch.zeros(4, 3, dtype=torch.bool) | p.groups[:, :1])
    with pytest.raises(ShapeError, match="groups must be 4 x 3"):
        bo.tell(p, objective(p.z, 3), groups=torch.ones(4, 2, dtype=torch.bool))
    bo.tell(p[2], objective(p.z[2:3], 3), groups=torch.ones(1, 3, dtype=torch.bool))  # more: ok
    assert bo.obs.mask[-1].all()
    with pytest.raises(ConfigError, match="already told"):
        bo.tell(p.z[2:3], objective(p.z[2:3], 3))
    with pytest.raises(ConfigError, match="already told"):
        bo.tell(p.z[[0, 0]], objective(p.z[[0, 0]], 3))
    bo.tell(p[[3, 0, 1]], objective(p.z[[3, 0, 1]], 3))
    torch.testing.assert_close(bo.obs.z, p.z)  # a completed round is stored in proposal order
    with pytest.raises(ConfigError, match="is not open"):
        bo.tell(p, objective(p.z, 3))


def test_asks_are_clipped_to_the_budget_and_stop_says_why() -> None:
    bo = make(budget=6)
    p = bo.ask()
    bo.tell(p, objective(p.z, 3))
    assert len(bo.ask(10)) == 2 and bo.remaining == 0 and bo.stop() == {}
    bo.abandon()
    q = bo.ask(10)
    bo.tell(q, objective(q.z, 3))
    assert bo.stop() == {"budget": 6} and bo.done and bo.result.index in range(6)
    with pytest.raises(ConfigError, match="used up"):
        bo.ask()


def _run_split(split: str, rounds: int = 3) -> tuple[RobustBO, list[Proposal]]:
    bo = RobustBO(2, 3, "dro", "kl:0.5", budget=100, seed=4, n_init=25, batch_size=25,
                  cma_starts=3, cma_popsize=6, cma_generations=2, fit_maxiter=15)  # fmt: skip
    asked = []
    for _ in range(rounds):
        p = bo.ask()
        asked.append(p)
        y = objective(p.z, 3)
        if split == "one":
            bo.tell(p, y)
        else:
            order = range(len(p)) if split == "rows" else torch.randperm(len(p)).tolist()
            for i in order:
                bo.tell(p.z[i : i + 1], y[i : i + 1])
    return bo, asked


def test_a_round_told_in_one_call_or_in_25_gives_the_same_beta_seeds_and_ema() -> None:
    one, asked_one = _run_split("one")
    torch.manual_seed(0)
    for split in ("rows", "shuffled"):
        many, asked_many = _run_split(split)
        assert [p.round for p in asked_many] == [0, 1, 2]
        for a, b in zip(asked_one, asked_many, strict=True):
            assert torch.equal(a.z, b.z) and torch.equal(a.groups, b.groups) and a.id == b.id
        assert torch.equal(one.reference, many.reference)
        assert one.context().beta == many.context().beta == beta_schedule(2)
        assert torch.equal(one.obs.z, many.obs.z)
    assert not torch.equal(one.reference, torch.full((3,), 1 / 3, dtype=torch.float64))


def test_the_ema_follows_weak_groups_on_any_scale() -> None:
    """Negative scores used to clamp to 0 (the weights drifted to uniform); now normalised."""
    bo = make(eta=0.5, n_init=2, batch_size=2, groups_per_round=3)
    p = bo.ask()
    y = torch.tensor([[-5.0, -1.0, -3.0], [-7.0, -1.0, -3.0]], dtype=torch.float64)
    bo.tell(p, y)
    ybar = torch.tensor([-6.0, -1.0, -3.0], dtype=torch.float64)
    v = (ybar - -7.0) / (1.0 - -7.0)  # the run's range widened to [0, 1]: [-7, 1]
    inv = 1 / (v + 0.05)
    expected = 0.5 / 3 + 0.5 * inv / inv.sum()
    torch.testing.assert_close(bo.reference, expected / expected.sum())
    assert bo.reference.argmax() == 0 and bo.reference.argmin() == 1


def test_a_wasserstein_ball_with_a_cost_matrix_survives_state_dict() -> None:
    cost = torch.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 1.0], [3.0, 1.0, 0.0]])
    bo = RobustBO(dim=2, n_groups=3, ambiguity=WassersteinBall(0.2, cost), budget=16, **TINY)
    for _ in range(2):
        p = bo.ask()
        bo.tell(p, objective(p.z, 3))
    restored = RobustBO.from_state_dict(json.loads(json.dumps(bo.state_dict())))
    assert restored.ambiguity == bo.ambiguity and isinstance(restored.ambiguity.cost, torch.Tensor)
    a, b = bo.ask(), restored.ask()
    assert torch.equal(a.z, b.z) and torch.equal(a.groups, b.groups)
