"""A user's method, registered from outside droiz (the example of docs/engine.md).

``worst-ucb`` maximises the UCB of the weakest group, ``min_t (mu_t + beta sigma_t)``, and picks
the final instruction by its robust posterior value (the groups follow the run's group rule). Its
adversary (all weight on the weakest group) is reported through the ``adversary_weights``
protocol, so the engine journals it as it does the built-in robust acquisitions' weights. Used by
the conformance suite and by the test that runs it through ``droiz optimize --plugin
droiz_plugin_example --method worst-ucb``.
"""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from droiz.optim import RoundContext, register_method


class WorstGroupUCB(AcquisitionFunction):
    """``min_t (mu_t + beta sigma_t)``: the upper confidence bound of the weakest group."""

    def __init__(self, model: object, beta: float) -> None:
        super().__init__(model=model)
        self.beta = beta

    def group_ucb(self, X: Tensor) -> Tensor:
        """``b x K`` upper confidence bounds of every group at ``X`` (``b x 1 x d``)."""
        posterior = self.model.posterior(X)
        return (posterior.mean + self.beta * posterior.variance.sqrt()).squeeze(-2)

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        return self.group_ucb(X).amin(-1)

    def adversary_weights(self, z: Tensor) -> Tensor:
        """All weight on the weakest group at each of ``z`` (``n x d`` → ``n x K``)."""
        ucb = self.group_ucb(z.unsqueeze(-2))
        return torch.nn.functional.one_hot(ucb.argmin(-1), ucb.shape[-1]).to(torch.float64)


@register_method("worst-ucb", final_pick="robust")
def worst_ucb(model: object, ctx: RoundContext) -> AcquisitionFunction:
    return WorstGroupUCB(model, ctx.beta)
