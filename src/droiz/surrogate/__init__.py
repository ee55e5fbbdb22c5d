"""GP surrogates over K groups with shared hyperparameters, and the instruction-coupled kernel."""

from __future__ import annotations

from droiz.surrogate.build import (
    KERNELS,
    SURROGATES,
    KernelInputs,
    make_gp,
    register_kernel,
    score_features,
)
from droiz.surrogate.kernels import InstructionCoupledKernel, matern_kernel
from droiz.surrogate.model import GroupGP

__all__ = [
    "KERNELS",
    "SURROGATES",
    "GroupGP",
    "InstructionCoupledKernel",
    "KernelInputs",
    "make_gp",
    "matern_kernel",
    "register_kernel",
    "score_features",
]
