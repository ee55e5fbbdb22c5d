"""GroupGP.fit falls back only on the numerical failures it expects; bugs raise."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from gpytorch.kernels import Kernel

from droiz.surrogate import GroupGP, matern_kernel


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    z = torch.rand(12, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.stack([z[:, 0].sin(), z[:, 1].cos()], -1)
    return z, y


class _Indefinite(Kernel):
    """Minus a Matérn kernel: no jitter makes its Gram matrix positive definite."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = matern_kernel(2)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, **kw: object):
        return -self.inner(x1, x2, diag=diag).to_dense()


def test_a_cholesky_failure_falls_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    z, y = _data()
    nan = GroupGP(z, y)
    with torch.no_grad():  # diverged hyperparameters: a NaN noise
        nan.likelihood.noise_covar.raw_noise.fill_(math.nan)
    for gp in (GroupGP(z, y, kernel=_Indefinite()), nan):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="droiz.surrogate.model"):
            gp.fit(maxiter=5)
        assert "GP hyperparameter fit failed" in caplog.text
        assert not gp.training  # it carries on, in eval mode, with the previous values


def test_a_bug_raises_instead_of_being_swallowed() -> None:
    z, y = _data()
    gp = GroupGP(z, y, kernel=matern_kernel(5))  # lengthscales for 5 dimensions, inputs have 2
    with pytest.raises(RuntimeError):
        gp.fit(maxiter=5)
