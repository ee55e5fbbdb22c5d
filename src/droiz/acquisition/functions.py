"""Acquisition functions over a K-group surrogate, as small BoTorch modules.

Notation (shapes): ``b`` candidates, ``d`` soft-prompt dimension, ``K`` groups. Every acquisition
takes ``X`` as ``b x 1 x d`` (BoTorch's t-batch convention; ``b x d`` is also accepted) and returns
``b`` values, higher is better. The inner problem always covers all K groups: the surrogate
predicts the groups a point was not evaluated on.

* :class:`RobustUCB`: per-group UCB ``mu_t + beta sigma_t``, then the worst case over the ambiguity
  set around the current reference weights (DRO-InstructZero).
* :func:`mixture_ucb`: UCB of the reference mixture ``w^T mu + beta sqrt(w^T Sigma w)`` (BoTorch's
  ``UpperConfidenceBound`` computes ``mean + sqrt(beta) sigma``, so it takes ``beta^2``): the
  joint bonus of the mixture.
* :class:`SummedUCB`: the reference mixture of the per-group UCBs ``sum_t w_t (mu_t + beta
  sigma_t)``: the summed per-group bonus, at least the joint one (equal only when the groups are
  perfectly correlated); :class:`RobustUCB` with radius 0.
* :func:`mixture_ei`: (log) expected improvement of the reference mixture over ``best_f``, the
  InstructZero baseline. LogEI is a monotone transform of EI with the same maximiser and ranking,
  but it does not underflow to a flat zero far from the incumbent, which CMA-ES needs.
* :class:`HybridAcquisition`: ``lam * robust + (1 - lam) * nominal``.

An acquisition whose value is a worst case over distributions of the groups reports the
adversary's weights at the points it scores through the :class:`AdversaryWeights` protocol (a
method ``adversary_weights(z)``); :func:`adversary_weights` asks any acquisition for them. The
engine journals them with each round's proposal.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.acquisition.analytic import (
    AnalyticAcquisitionFunction,
    LogExpectedImprovement,
    UpperConfidenceBound,
)
from botorch.acquisition.objective import ScalarizedPosteriorTransform
from botorch.models.model import Model
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from droiz.ambiguity import AmbiguitySet


@runtime_checkable
class AdversaryWeights(Protocol):
    """An acquisition that knows the adversary's weights at the points it scores."""

    def adversary_weights(self, z: Tensor) -> Tensor | None:
        """The worst-case group weights at ``z`` (``n x d``): ``n x K`` on the simplex, or
        ``None`` when this acquisition has none (a hybrid whose robust part reports none)."""
        ...


def adversary_weights(acquisition: AcquisitionFunction, z: Tensor) -> Tensor | None:
    """The adversary's weights at ``z`` (``n x d`` → ``n x K``) of an acquisition that reports
    them (:class:`AdversaryWeights`), else ``None``."""
    if not isinstance(acquisition, AdversaryWeights):
        return None
    with torch.no_grad():
        return acquisition.adversary_weights(z)


def beta_schedule(round_index: int) -> float:
    """The paper's exploration weight ``beta(m) = 2 sqrt(2 log(m + 1))``, rounds counted from 1."""
    if round_index < 1:
        raise ValueError(f"rounds are counted from 1, got {round_index}")
    return 2.0 * math.sqrt(2.0 * math.log(round_index + 1.0))


class RobustUCB(AnalyticAcquisitionFunction):
    r"""Distributionally robust UCB: ``min_{w in U(ref)} sum_t w_t (mu_t + beta sigma_t)``.

    Args:
        model: A K-output model (e.g. :class:`droiz.surrogate.GroupGP`).
        beta: Multiplier of the posterior standard deviation (the paper's beta, not its square).
        ambiguity: The ambiguity set around ``reference``.
        reference: ``K`` reference weights on the simplex.
    """

    beta: Tensor  # buffers (register_buffer)
    reference: Tensor

    def __init__(
        self, model: Model, beta: float, ambiguity: AmbiguitySet, reference: Tensor
    ) -> None:
        super().__init__(model=model, allow_multi_output=True)
        self.register_buffer("beta", torch.as_tensor(float(beta), dtype=torch.float64))
        self.register_buffer("reference", reference.to(torch.float64))
        self.ambiguity = ambiguity
        self.last_weights: Tensor | None = None

    # botorch types the decorator's argument as a method of AcquisitionFunction, not of a subclass
    @t_batch_mode_transform(expected_q=1)  # type: ignore[arg-type]
    def forward(self, X: Tensor) -> Tensor:
        mean, sigma = self._mean_and_sigma(X)  # b x K each
        assert sigma is not None  # compute_sigma is on
        worst = self.ambiguity.worst_case(mean + self.beta * sigma, self.reference)
        self.last_weights = worst.weights.detach()
        return worst.value

    def adversary_weights(self, z: Tensor) -> Tensor | None:
        """The worst-case weights ``w*`` at ``z`` (``n x d`` → ``n x K``)."""
        self(z.unsqueeze(-2))
        return self.last_weights


class SummedUCB(AnalyticAcquisitionFunction):
    r"""``sum_t w_t (mu_t + beta sigma_t)``: the reference mixture of the per-group UCBs.

    Args:
        model: A K-output model. beta: Multiplier of the posterior standard deviation.
        reference: ``K`` reference weights on the simplex.
    """

    beta: Tensor  # buffers (register_buffer)
    reference: Tensor

    def __init__(self, model: Model, beta: float, reference: Tensor) -> None:
        super().__init__(model=model, allow_multi_output=True)
        self.register_buffer("beta", torch.as_tensor(float(beta), dtype=torch.float64))
        self.register_buffer("reference", reference.to(torch.float64))

    @t_batch_mode_transform(expected_q=1)  # type: ignore[arg-type]  # as RobustUCB.forward
    def forward(self, X: Tensor) -> Tensor:
        mean, sigma = self._mean_and_sigma(X)  # b x K each
        assert sigma is not None  # compute_sigma is on
        return (mean + self.beta * sigma) @ self.reference


def mixture_ucb(model: Model, beta: float, reference: Tensor) -> UpperConfidenceBound:
    """UCB of the reference mixture, with the model's cross-group covariance when it has one."""
    transform = ScalarizedPosteriorTransform(weights=reference.to(torch.float64))
    return UpperConfidenceBound(model, beta=beta**2, posterior_transform=transform)


def mixture_ei(model: Model, best_f: float, reference: Tensor) -> LogExpectedImprovement:
    """Log expected improvement of the reference mixture over ``best_f``."""
    transform = ScalarizedPosteriorTransform(weights=reference.to(torch.float64))
    return LogExpectedImprovement(model, best_f=best_f, posterior_transform=transform)


class HybridAcquisition(AcquisitionFunction):
    r"""``lam * robust(X) + (1 - lam) * nominal(X)``, the paper's proposed fix for lexical tasks.

    Args:
        robust: The robust acquisition (e.g. :class:`RobustUCB`).
        nominal: The nominal acquisition on the same scale (e.g. :func:`mixture_ucb`).
        lam: Weight of the robust part in ``[0, 1]``.
    """

    def __init__(
        self, robust: AcquisitionFunction, nominal: AcquisitionFunction, lam: float
    ) -> None:
        super().__init__(model=robust.model)
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {lam}")
        self.robust, self.nominal, self.lam = robust, nominal, float(lam)

    def adversary_weights(self, z: Tensor) -> Tensor | None:
        """The robust part's adversary weights at ``z`` (``None`` when it reports none)."""
        return adversary_weights(self.robust, z)

    def forward(self, X: Tensor) -> Tensor:
        robust: Tensor = self.robust(X)
        if self.lam == 1.0:
            return robust
        nominal: Tensor = self.nominal(X)
        return self.lam * robust + (1.0 - self.lam) * nominal


def hybrid_weight(progress: float, start: float = 0.6, end_weight: float = 0.5) -> float:
    """``lam`` of the hybrid: 1 until ``start`` of the budget is used, then linear to the end.

    Args:
        progress: Fraction of the evaluation budget used, in ``[0, 1]``.
        start: Fraction at which the interpolation starts (default: the last 40%).
        end_weight: ``lam`` at the end of the budget.
    """
    if progress <= start:
        return 1.0
    frac = min(1.0, (progress - start) / max(1e-12, 1.0 - start))
    return 1.0 - (1.0 - end_weight) * frac
