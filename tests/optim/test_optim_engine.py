"""RobustBO: ask/tell contract, group subsampling, reference weights, final picks, state."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from droiz import KLBall, RobustBO
from droiz.exceptions import ConfigError, ShapeError, UnknownNameError

SMALL = dict(n_init=8, batch_size=6, cma_starts=4, cma_popsize=8, cma_generations=3, fit_maxiter=30)


def objective(z: torch.Tensor) -> torch.Tensor:
    """Three groups; group 2 is weak where z_0 > 0."""
    base = 0.6 + 0.3 * torch.cos(2 * z[:, 1:2])
    drop = torch.stack([0 * z[:, 0], 0.1 * z[:, 2], 0.5 * (z[:, 0] > 0)], -1)
    return (base - drop).clamp(0, 1)


def run(bo: RobustBO, rounds: int | None = None) -> list[torch.Tensor]:
    asked = []
    while not bo.stop() and (rounds is None or len(asked) < rounds):
        proposal = bo.ask()
        asked.append(proposal.z)
        bo.tell(proposal, objective(proposal.z))
    return asked


def make(method: str = "dro", **kw: object) -> RobustBO:
    opts = {**SMALL, **kw}
    return RobustBO(dim=3, n_groups=3, method=method, budget=20, seed=7, **opts)


def test_first_points_are_sobol_then_distinct_bo_candidates_in_bounds() -> None:
    bo = make()
    first = bo.ask(8).z
    engine = torch.quasirandom.SobolEngine(3, scramble=True, seed=7)
    torch.testing.assert_close(first, engine.draw(8, dtype=torch.float64) * 2 - 1)
    bo.tell(first, objective(first))
    z = bo.ask(6).z
    assert z.shape == (6, 3) and z.abs().max() <= 1.0
    assert (torch.cdist(z, first, p=float("inf")) > 1e-6).all()
    pairwise = torch.cdist(z, z, p=float("inf")) + torch.eye(6)
    assert (pairwise > 1e-6).all()


def test_random_method_continues_the_sobol_sequence() -> None:
    bo = make("random")
    asked = torch.cat(run(bo))
    engine = torch.quasirandom.SobolEngine(3, scramble=True, seed=7)
    torch.testing.assert_close(asked, engine.draw(20, dtype=torch.float64) * 2 - 1)


def test_group_subsampling_rules() -> None:
    bo = make(groups_per_round=2)
    init = bo.ask(8).groups
    assert (init.sum(-1) == 2).all()
    assert init.sum(0).tolist() in ([6, 5, 5], [5, 6, 5], [5, 5, 6])  # balanced rotation
    bo.tell(_sobol(8), objective(_sobol(8)), init)
    assert (bo.ask(6).groups.sum(-1) == 2).all()
    everything = make(groups_per_round=5)
    assert everything.ask(4).groups.all()


def _sobol(n: int) -> torch.Tensor:
    return (
        torch.quasirandom.SobolEngine(3, scramble=True, seed=7).draw(n, dtype=torch.float64) * 2 - 1
    )


def test_adversarial_groups_pick_the_lowest_lower_confidence_bounds() -> None:
    from droiz.acquisition import beta_schedule

    bo = make("dro", group_selection="adversarial")
    run(bo, rounds=2)  # 12 Sobol points
    proposal = bo.ask(6)  # a BO round
    assert proposal.round == 1
    mean, var = bo.posterior(proposal.z)
    lcb = mean - beta_schedule(proposal.round) * var.sqrt()
    worst_two = torch.argsort(lcb, -1)[:, :2]
    expected = torch.zeros_like(proposal.groups).scatter(-1, worst_two, True)
    assert torch.equal(proposal.groups, expected)


@pytest.mark.parametrize("method", ["dro", "hybrid", "ei", "ucb", "ucb-sum"])
def test_every_model_based_method_samples_by_the_default_rule(method: str) -> None:
    from droiz.axes import DEFAULT_GROUP_RULE

    bo = make(method)
    assert bo.config.group_rule() == DEFAULT_GROUP_RULE
    assert bo.config.axes()["group_rule"] == DEFAULT_GROUP_RULE


def test_a_legacy_auto_config_resumes_with_its_rule_and_nothing_else_is_tolerated() -> None:
    saved = make("dro", group_selection="auto")
    run(saved, rounds=2)
    state = json.loads(json.dumps(saved.state_dict()))
    assert state["config"]["group_selection"] == "auto"
    assert saved.config.group_rule() == "adversarial"
    assert make("ei", group_selection="auto").config.group_rule() == "reference"
    fresh = make("dro")  # what a resumed run builds from its settings: today's default rule
    fresh.load_state_dict(state)
    assert fresh.config == saved.config and torch.equal(fresh.ask().z, saved.ask().z)
    other = make("dro", eta=0.3)
    with pytest.raises(ConfigError, match="different configuration"):
        other.load_state_dict(state)
    newer = make("dro", group_selection="adversarial")
    with pytest.raises(ConfigError, match="different configuration"):
        newer.load_state_dict(make("dro").state_dict())


def test_final_pick_and_reference_update_override_the_methods_own() -> None:
    bo = make("ucb", final_pick="robust", reference_update="ema")
    assert bo.config.axes() == {
        "acquisition": "ucb",
        "group_rule": "reference",
        "reference_update": "ema",
        "final_pick": "robust",
    }
    run(bo, rounds=3)
    assert bo.best().selection == "robust"
    assert not torch.allclose(bo.reference, torch.full((3,), 1 / 3, dtype=torch.float64))
    fixed = make("dro", reference_update="fixed")
    run(fixed, rounds=2)
    assert fixed.config.axes()["reference_update"] == "fixed"
    assert fixed.reference.tolist() == pytest.approx([1 / 3] * 3)
    with pytest.raises(UnknownNameError, match="did you mean 'robust'"):
        make("ucb", final_pick="robst")


def test_reference_weights_follow_the_ema_by_hand() -> None:
    bo = make("dro", eta=0.2, delta=0.05)
    z = _sobol(3)
    y = torch.tensor([[0.9, 0.5, 0.0], [0.7, 0.3, 0.0], [0.0, 0.0, 0.2]], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    bo.tell(z, y, mask, external=True)
    bo.ask(1)  # external rows form a round of their own, which ends at the next ask
    ybar = torch.tensor([0.8, 0.4, 0.2], dtype=torch.float64)
    inv = 1 / (ybar + 0.05)
    expected = 0.8 * torch.full((3,), 1 / 3, dtype=torch.float64) + 0.2 * inv / inv.sum()
    torch.testing.assert_close(bo.reference, expected / expected.sum())
    assert bo.reference[2] > bo.reference[1] > bo.reference[0]


def test_reference_update_none_and_auto() -> None:
    fixed = make("dro", reference_update="none", reference=[0.5, 0.3, 0.2])
    run(fixed, rounds=2)
    assert fixed.reference.tolist() == pytest.approx([0.5, 0.3, 0.2])
    nominal = make("ei")  # auto: the nominal objective stays the user's reference
    run(nominal, rounds=1)
    assert nominal.reference.tolist() == pytest.approx([1 / 3] * 3)
    floored = make("dro", reference=[1.0, 0.0, 0.0], reference_update="none")
    assert floored.reference.min().item() >= 1e-3 / 3 - 1e-15


def test_best_uses_each_methods_own_criterion() -> None:
    z = _sobol(4)
    y = torch.tensor(
        [[0.9, 0.1, 0.9], [0.6, 0.6, 0.6], [0.5, 0.9, 0.0], [0.2, 0.2, 0.2]], dtype=torch.float64
    )
    mask = torch.tensor([[1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 1, 1]], dtype=torch.bool)
    random = make("random")
    random.tell(z, y, mask, external=True)
    # observed-nominal: uniform reference renormalised over the observed groups
    assert random.best().index == 2 and random.best().value == pytest.approx(0.7)
    nobo = make("dro-nobo", reference_update="none", ambiguity="cvar:0.5")
    nobo.tell(z, y, mask, external=True)
    # observed-robust with CVaR(0.5) over two equally weighted groups = their minimum
    best = nobo.best()
    assert best.index == 1 and best.value == pytest.approx(0.6)
    assert best.scores.tolist() == pytest.approx([0.1, 0.6, 0.5, 0.2])


def test_same_seed_same_run_and_state_dict_round_trip() -> None:
    a, b = make("hybrid"), make("hybrid")
    za, zb = run(a, rounds=2), run(b, rounds=2)
    assert all(torch.equal(x, y) for x, y in zip(za, zb, strict=True))
    state = json.loads(json.dumps(a.state_dict()))
    restored = RobustBO.from_state_dict(state)
    next_a, next_r = a.ask(), restored.ask()
    assert torch.equal(next_a.z, next_r.z)
    assert torch.equal(next_a.groups, next_r.groups)
    assert (next_a.id, next_a.round) == (next_r.id, next_r.round)
    assert torch.equal(a.reference, restored.reference)


def test_state_round_trip_after_best_was_called() -> None:
    a = make("dro")
    run(a, rounds=2)
    a.best()  # fits the GP at the current data; a restored engine must redo that fit exactly
    restored = RobustBO.from_state_dict(json.loads(json.dumps(a.state_dict())))
    assert torch.equal(a.ask().z, restored.ask().z)


def test_state_round_trip_when_best_was_called_before_new_data() -> None:
    a = make("dro", n_init=18)
    run(a, rounds=2)  # 12 Sobol points
    a.best()  # a fit at 12 points; the next fit (at 18) must start from its result
    restored = RobustBO.from_state_dict(json.loads(json.dumps(a.state_dict())))
    for bo in (a, restored):
        z = bo.ask().z  # still Sobol
        bo.tell(z, objective(z))
    assert torch.equal(a.ask().z, restored.ask().z)


def test_budget_is_enforced() -> None:
    bo = make("random")
    run(bo)
    assert bo.done and bo.n_evaluations == 20 and bo.stop() == {"budget": 20}
    with pytest.raises(ConfigError, match="budget"):
        bo.ask()
    short = make("random")
    z = _sobol(21)
    with pytest.raises(ConfigError, match="only 20 remain"):
        short.tell(z, objective(z), torch.ones(21, 3, dtype=torch.bool), external=True)
    assert len(short.ask(30)) == 20  # clipped to the budget


def test_tell_validates_its_inputs() -> None:
    bo = make()
    z = bo.ask(2).z
    ok = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ShapeError, match="2 x 3"):
        bo.tell(z, torch.zeros(2, 2), ok)
    with pytest.raises(ConfigError, match="inside"):
        bo.tell(z * 3, torch.zeros(2, 3), ok, external=True)
    with pytest.raises(ConfigError, match="finite wherever"):
        bo.tell(z, torch.full((2, 3), math.nan), ok)
    with pytest.raises(ConfigError, match="at least one group"):
        bo.tell(z, torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.bool), external=True)
    bo.tell(
        z,
        torch.tensor([[0.5, math.nan, 7.0], [0.1, 0.2, 0.3]]),
        torch.tensor([[1, 0, 0], [1, 1, 1]], dtype=torch.bool),
        external=True,
    )
    assert math.isnan(bo.obs.y[0, 2].item())  # values outside the mask are ignored


def test_bad_configuration_is_rejected_with_a_hint() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'dro'"):
        make("drp")
    with pytest.raises(ConfigError, match="summing to 1"):
        make(reference=[0.5, 0.5])
    with pytest.raises(UnknownNameError, match="kernel"):
        make(kernel="rbf")


def test_every_method_runs_and_finds_a_good_point() -> None:
    truth_best = objective(_sobol(512)).min(-1).values.max().item()
    for method in ("dro", "ei", "ucb", "hybrid", "random", "dro-nobo"):
        bo = make(method, ambiguity=KLBall(0.5))
        run(bo)
        best = bo.best()
        assert 0 <= best.index < 20 and best.z.shape == (3,)
        assert objective(best.z[None]).min().item() > truth_best - 0.6


def test_coupled_kernels_need_and_use_their_features() -> None:
    bo = make("dro", kernel="coupled-scores")
    p = bo.ask()
    with pytest.raises(ConfigError, match="scores"):
        bo.tell(p, objective(p.z))
    scores = torch.rand(6, 9, dtype=torch.float64)
    for _ in range(2):
        bo.tell(p, objective(p.z), scores=scores)
        p = bo.ask()
    assert p.z.shape == (6, 3)
    sem = make("ucb", kernel="coupled-semantic")
    for _ in range(2):
        p = sem.ask()
        emb = torch.nn.functional.normalize(torch.cat([p.z, p.z**2], -1), dim=-1)
        sem.tell(p, objective(p.z), embeddings=emb)
    assert sem.ask().z.shape == (6, 3)


def test_numpy_global_state_is_untouched() -> None:
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    bo = make("dro")
    run(bo, rounds=2)
    assert np.random.rand() == expected
