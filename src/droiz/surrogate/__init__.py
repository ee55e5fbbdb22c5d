"""GP surrogates over K groups with shared hyperparameters, and the instruction-coupled kernel."""

from __future__ import annotations

from droiz.surrogate.build import KERNELS, WSTAR_KERNEL, incumbent_weights, make_gp, score_features
from droiz.surrogate.kernels import InstructionCoupledKernel, matern_kernel
from droiz.surrogate.model import GroupGP

__all__ = [
    "KERNELS",
    "WSTAR_KERNEL",
    "GroupGP",
    "InstructionCoupledKernel",
    "incumbent_weights",
    "make_gp",
    "matern_kernel",
    "score_features",
]
