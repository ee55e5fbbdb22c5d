"""A user's method, registered from outside droiz (the example of docs/engine.md).

``worst-ucb`` maximises the UCB of the weakest group, ``min_t (mu_t + beta sigma_t)``, and picks
the final instruction by its robust posterior value (the groups follow the run's group rule).
Used by the conformance suite and by the test that runs it through ``droiz optimize --plugin
droiz_plugin_example --method worst-ucb``.
"""

from __future__ import annotations

from botorch.acquisition import AcquisitionFunction
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from droiz.optim import RoundContext, register_method


class WorstGroupUCB(AcquisitionFunction):
    """``min_t (mu_t + beta sigma_t)``: the upper confidence bound of the weakest group."""

    def __init__(self, model: object, beta: float) -> None:
        super().__init__(model=model)
        self.beta = beta

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        posterior = self.model.posterior(X)
        ucb = posterior.mean + self.beta * posterior.variance.sqrt()  # b x 1 x K
        return ucb.squeeze(-2).amin(-1)


@register_method("worst-ucb", final_pick="robust")
def worst_ucb(model: object, ctx: RoundContext) -> AcquisitionFunction:
    return WorstGroupUCB(model, ctx.beta)
