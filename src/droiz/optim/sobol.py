"""Seeded scrambled Sobol points in ``[-1, 1]^d``, drawn as one continuing sequence."""

from __future__ import annotations

import torch
from torch import Tensor


def sobol_points(dim: int, n: int, seed: int, skip: int = 0) -> Tensor:
    """Points ``skip .. skip + n - 1`` of the scrambled Sobol sequence of ``seed``, ``n x dim``.

    Drawing ``a`` points and then ``b`` more with ``skip=a`` gives the first ``a + b`` points.
    """
    engine = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed)
    if skip:
        engine.fast_forward(skip)
    return engine.draw(n, dtype=torch.float64) * 2.0 - 1.0
