"""The instruction-coupled kernel: PSD, InstructZero's behaviour at data, no collapse away."""

from __future__ import annotations

import pytest
import torch

from droiz.surrogate import InstructionCoupledKernel, make_gp, score_features
from droiz.surrogate.kernels import weighted_distance


def _kernel(
    n: int = 12, p: int = 8, seed: int = 0
) -> tuple[InstructionCoupledKernel, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.rand(n, 3, generator=gen, dtype=torch.float64)
    feats = (torch.rand(n, p, generator=gen, dtype=torch.float64) < 0.5).double()
    omega = torch.rand(p, generator=gen, dtype=torch.float64)
    k = InstructionCoupledKernel(3).to(torch.float64)
    k.set_data(z, feats, omega)
    return k.eval(), z


def test_coupled_kernel_is_psd_for_any_weights() -> None:
    for seed in range(5):
        k, z = _kernel(seed=seed)
        x = torch.cat([z, torch.rand(20, 3, dtype=torch.float64)])
        with torch.no_grad():
            gram = k(x).to_dense()
        assert torch.linalg.eigvalsh((gram + gram.T) / 2).min() > -1e-8


def test_at_training_points_it_reproduces_the_feature_kernel() -> None:
    k, z = _kernel()
    k.latent.lengthscale = 0.15  # short latent lengthscales: a(z_i) is close to e_i
    k._cache = None
    with torch.no_grad():
        gram = k(z).to_dense()
        _, kf = k._factors()
        expected = k.coupled_scale * kf + k.addon(z).to_dense()
    assert (gram - expected).abs().max() < 5e-2 * expected.abs().max()


def test_prior_variance_does_not_collapse_away_from_data() -> None:
    k, _ = _kernel()
    far = torch.rand(200, 3, dtype=torch.float64) * 4 + 5  # far outside the data
    with torch.no_grad():
        diag = k(far, diag=True)
    assert diag.min() >= 0.99 * k.addon.outputscale


def test_diag_equals_the_diagonal_of_the_full_matrix() -> None:
    k, _ = _kernel(seed=3)
    x = torch.rand(9, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(k(x, diag=True), k(x).to_dense().diagonal())


def test_weighted_distance_by_hand() -> None:
    a = torch.tensor([[0.0, 1.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    omega = torch.tensor([4.0, 7.0, 1.0], dtype=torch.float64)
    assert weighted_distance(a, b, omega).item() == pytest.approx(5.0**0.5, rel=1e-12)


def test_score_features_weights_and_imputation() -> None:
    scores = torch.tensor([[1.0, 0.0, float("nan"), float("nan")], [1.0, 1.0, 0.0, 1.0]])
    groups = torch.tensor([0, 0, 1, 1])
    uniform = torch.tensor([0.5, 0.5], dtype=torch.float64)
    feats, omega = score_features(scores, groups, uniform)
    assert feats[0].tolist() == [1.0, 0.0, 0.0, 1.0]  # imputed with the example's mean
    assert omega.tolist() == [0.5, 0.5, 0.5, 0.5]  # K w_t / |G_t| = 2 * 0.5 / 2
    _, skew = score_features(scores, groups, torch.tensor([0.9, 0.1], dtype=torch.float64))
    assert skew[0] > skew[2] and abs(skew.sum().item() - 2.0) < 1e-12


def test_coupled_gp_fits_and_ties_identical_instructions() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.rand(16, 3, generator=gen, dtype=torch.float64) * 2 - 1
    feats = torch.zeros(16, 4, dtype=torch.float64)
    feats[8:] = 1.0  # two instructions: the first 8 and last 8 points
    y = torch.where(feats[:, :1] > 0, 0.9, 0.2).repeat(1, 2)
    y = y + 0.01 * torch.randn(16, 2, generator=gen, dtype=torch.float64)
    gp = make_gp("coupled-scores", z, y, features=feats, maxiter=50)
    mean, _ = gp.predict(z)
    assert (mean[8:] > 0.7).all() and (mean[:8] < 0.4).all()
