"""Acquisition functions over a K-group surrogate (robust UCB, mixture UCB and EI, hybrid), and
the :class:`AdversaryWeights` protocol through which robust ones report the adversary's weights."""

from __future__ import annotations

from droiz.acquisition.functions import (
    AdversaryWeights,
    HybridAcquisition,
    RobustUCB,
    SummedUCB,
    adversary_weights,
    beta_schedule,
    hybrid_weight,
    mixture_ei,
    mixture_ucb,
)

__all__ = [
    "AdversaryWeights",
    "HybridAcquisition",
    "RobustUCB",
    "SummedUCB",
    "adversary_weights",
    "beta_schedule",
    "hybrid_weight",
    "mixture_ei",
    "mixture_ucb",
]
