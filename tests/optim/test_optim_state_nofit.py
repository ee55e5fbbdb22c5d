"""A restored engine conditions its GP on the saved hyperparameters: no refit, same next asks."""

from __future__ import annotations

import json

import pytest
import torch

from droiz import RobustBO
from droiz.optim import Proposal
from droiz.optim.conformance import drive, make_engine, objective
from droiz.optim.state import environment
from droiz.surrogate.model import GroupGP


def _no_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: GroupGP, maxiter: int = 200) -> GroupGP:
        raise AssertionError("the restored engine refitted its GP")

    monkeypatch.setattr(GroupGP, "fit", refuse)


def _round_trip(bo: RobustBO) -> RobustBO:
    return RobustBO.from_state_dict(json.loads(json.dumps(bo.state_dict())))


@pytest.mark.parametrize(
    ("method", "kernel", "surrogate"),
    [
        ("dro", "matern", "independent"),
        ("hybrid", "matern", "shared"),
        ("dro", "coupled-scores-wstar", "independent"),
    ],
)
def test_a_restored_engine_asks_the_same_without_refitting(
    monkeypatch: pytest.MonkeyPatch, method: str, kernel: str, surrogate: str
) -> None:
    k, e = 3, 6
    groups = tuple(i % k for i in range(e))
    a = make_engine(method, budget=16, kernel=kernel, surrogate=surrogate, example_groups=groups)

    def tell(bo: RobustBO, p: Proposal) -> None:
        y = objective(p.z, k)
        bo.tell(p, y, scores=y[:, list(groups)])

    for _ in range(2):
        tell(a, a.ask())
    a.best()  # the GP fitted to every evaluation, as the runner's round summary does
    state = a.state_dict()
    assert state["fit"]["current"] and state["fit"]["n"] == a.n_evaluations
    assert state["environment"] == environment()
    with monkeypatch.context() as m:
        _no_fit(m)
        b = _round_trip(a)
        # the same calls in the same order (the GP's caches are filled in call order)
        assert b.best().scores.tolist() == a.best().scores.tolist()
        za = torch.randn(5, 2, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
        ma, va = a.posterior(za)
        mb, vb = b.posterior(za)
        assert torch.equal(ma, mb) and torch.equal(va, vb)
        pa, pb = a.ask(), b.ask()  # the ask uses the conditioned GP: no fit
    assert torch.equal(pa.z, pb.z) and torch.equal(pa.groups, pb.groups)
    with monkeypatch.context() as m:  # mid-round (proposal open): still no refit
        _no_fit(m)
        c = _round_trip(a)
        c.best()
        assert c.pending is not None and torch.equal(c.pending.z, pa.z)
        assert torch.equal(c.posterior(za)[0], ma)
    for bo in (a, c):
        tell(bo, pa)
    assert torch.equal(a.ask().z, c.ask().z)  # the next fit starts from the same hyperparameters


def test_older_snapshots_without_fitted_state_refit_from_their_warm_start() -> None:
    a = make_engine("dro", budget=16)
    drive(a, rounds=2)
    a.best()
    state = json.loads(json.dumps(a.state_dict()))
    del state["fit"]["current"], state["fit"]["wstar"], state["environment"]
    b = RobustBO.from_state_dict(state)
    assert torch.equal(a.ask().z, b.ask().z)  # refitted from the same warm start, same machine


def test_hyperparameters_that_do_not_fit_the_model_are_refitted_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = make_engine("dro", budget=16)
    drive(a, rounds=2)
    a.best()
    state = json.loads(json.dumps(a.state_dict()))
    state["fit"]["result"] = {"renamed." + k: v for k, v in state["fit"]["result"].items()}
    b = RobustBO.from_state_dict(state)
    b.best()
    assert "refitting the GP" in caplog.text
