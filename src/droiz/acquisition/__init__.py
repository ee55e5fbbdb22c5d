"""Acquisition functions over a K-group surrogate (robust UCB, mixture UCB and EI, hybrid)."""

from __future__ import annotations

from droiz.acquisition.functions import (
    HybridAcquisition,
    RobustUCB,
    SummedUCB,
    beta_schedule,
    hybrid_weight,
    mixture_ei,
    mixture_ucb,
)

__all__ = [
    "HybridAcquisition",
    "RobustUCB",
    "SummedUCB",
    "beta_schedule",
    "hybrid_weight",
    "mixture_ei",
    "mixture_ucb",
]
