"""The conformance suite: every registered method and ambiguity set through the same contract.

The user-registered ``worst-ucb`` (``droiz_plugin_example``) runs through it unchanged, like the
built-in methods. Sized for CI: ``d = 2``, rounds of 4, tiny CMA-ES searches.
"""

from __future__ import annotations

import droiz_plugin_example  # noqa: F401  (registers "worst-ucb")
import pytest
import torch
from botorch.acquisition import AcquisitionFunction

from droiz.ambiguity import KLBall, Nominal
from droiz.optim import METHODS, RoundContext, register_method
from droiz.optim import conformance as conf
from droiz.testing import check_method

METHOD_NAMES = METHODS.names()
SETS = conf.ambiguity_sets()
SET_IDS = [repr(a) for a in SETS]


def test_the_suite_covers_every_builtin_and_the_user_method() -> None:
    builtin = {"dro", "ei", "ucb", "hybrid", "random", "dro-nobo"}
    assert builtin | {"worst-ucb"} <= set(METHOD_NAMES)
    kinds = {type(a).__name__ for a in SETS}
    assert {"KLBall", "Chi2Ball", "TVBall", "CVaR", "WassersteinBall", "Nominal"} <= kinds


@pytest.mark.parametrize("ambiguity", SETS, ids=SET_IDS)
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_proposals_are_well_formed_and_distinct(method: str, ambiguity: object) -> None:
    conf.check_proposals(method, ambiguity)  # type: ignore[arg-type]


@pytest.mark.parametrize("ambiguity", SETS, ids=SET_IDS)
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_state_dict_round_trip_gives_identical_next_asks(method: str, ambiguity: object) -> None:
    conf.check_state_round_trip(method, ambiguity)  # type: ignore[arg-type]


CHECKS = [conf.check_budget, conf.check_dtypes, conf.check_group_counts, conf.check_candidates]


@pytest.mark.parametrize("check", CHECKS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_contract(method: str, check: object) -> None:
    check(method)  # type: ignore[operator]


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_kl_ball_of_radius_zero_is_the_nominal_set(method: str) -> None:
    conf.check_kl0_is_nominal(method)


def test_robust_ucb_with_kl0_and_nominal_is_the_reference_mixture_of_ucbs() -> None:
    """``sum_t w_ref,t (mu_t + beta sigma_t)``, computed by hand from the posterior."""
    values = []
    for amb in (KLBall(0.0), Nominal()):
        bo = conf.make_engine("dro", amb, reference=[0.5, 0.3, 0.2], reference_update="none")
        conf.drive(bo, rounds=2)
        ctx, model = bo.context(), bo.surrogate()
        x = torch.rand(32, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        with torch.no_grad():
            acq = METHODS.get("dro").acquisition(model, ctx)(x.unsqueeze(-2) * 2 - 1)  # type: ignore[misc]
        mean, var = bo.posterior(x * 2 - 1)
        by_hand = (mean + ctx.beta * var.sqrt()) @ ctx.reference
        torch.testing.assert_close(acq, by_hand, rtol=1e-10, atol=1e-10)
        values.append(acq)
    torch.testing.assert_close(values[0], values[1], rtol=1e-10, atol=1e-10)


def test_check_method_runs_everything_on_a_user_method_and_names_a_failure() -> None:
    check_method("worst-ucb", ambiguities=["kl:0.5"])

    with METHODS.scoped():

        @register_method("noisy-ucb")
        def noisy(model: object, ctx: RoundContext) -> AcquisitionFunction:
            """Breaks the contract: noise from torch's global RNG, so a restored engine differs."""
            return _Noisy(model, ctx.beta)

        with pytest.raises(AssertionError, match="'noisy-ucb' fails state_round_trip"):
            check_method("noisy-ucb", ambiguities=["kl:0.5"])
    assert "noisy-ucb" not in METHODS


class _Noisy(AcquisitionFunction):
    def __init__(self, model: object, beta: float) -> None:
        super().__init__(model=model)
        self.beta = beta

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        post = self.model.posterior(X)
        ucb = (post.mean + self.beta * post.variance.sqrt()).mean(-1).squeeze(-1)
        return ucb + torch.rand(ucb.shape, dtype=ucb.dtype)
