"""The w*-weighted coupled-scores kernel: PSD, a hand-computed Gram, equal to today's at w = ref."""

from __future__ import annotations

import math

import torch

from droiz import RobustBO
from droiz.ambiguity import KLBall
from droiz.surrogate import InstructionCoupledKernel, incumbent_weights, score_features


def _scores(n: int = 10, k: int = 3, per: int = 2, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    s = (torch.rand(n, k * per, generator=gen, dtype=torch.float64) < 0.6).double()
    hidden = torch.rand(n, k, generator=gen) < 0.3
    hidden[:, 0] = False  # every row keeps a group
    return torch.where(hidden.repeat_interleave(per, -1), float("nan"), s)


def _kernel(z: torch.Tensor, scores: torch.Tensor, weights: torch.Tensor, k: int):
    groups = torch.arange(k).repeat_interleave(scores.shape[-1] // k)
    feats, omega = score_features(scores, groups, weights)
    kern = InstructionCoupledKernel(z.shape[-1]).to(torch.float64)
    kern.set_data(z, feats, omega)
    return kern.eval(), feats, omega


def test_gram_is_psd_for_worst_case_weights() -> None:
    z = torch.rand(10, 2, dtype=torch.float64)
    mean = torch.rand(10, 3, dtype=torch.float64)
    ref = torch.full((3,), 1 / 3, dtype=torch.float64)
    wstar = incumbent_weights(mean, mean.min(-1).values, KLBall(1.0), ref)
    assert torch.allclose(wstar.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert (wstar - ref).abs().max() > 1e-3  # a real tilt, not the reference
    kern, _, _ = _kernel(z, _scores(), wstar, 3)
    x = torch.cat([z, torch.rand(15, 2, dtype=torch.float64)])
    with torch.no_grad():
        gram = kern(x).to_dense()
    assert torch.linalg.eigvalsh((gram + gram.T) / 2).min() > -1e-8


def test_gram_matches_a_hand_computation() -> None:
    z = torch.tensor([[0.1, 0.2], [0.7, 0.4], [0.3, 0.9]], dtype=torch.float64)
    s = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, math.nan], [1.0, 1.0, 0.0, 1.0]])
    s = s.to(torch.float64)
    s[1, 3] = math.nan
    s[1, 2] = math.nan  # row 1 was not evaluated on group 1 (examples 2, 3)
    w = torch.tensor([0.8, 0.2], dtype=torch.float64)
    kern, feats, omega = _kernel(z, s, w, 2)
    # imputation: example means over the rows that saw them; omega_e = K w_t / |G_t|
    expected_f = s.clone()
    expected_f[1, 2], expected_f[1, 3] = 0.5, 1.0
    torch.testing.assert_close(feats, expected_f)
    torch.testing.assert_close(omega, torch.tensor([0.8, 0.8, 0.2, 0.2], dtype=torch.float64))
    with torch.no_grad():
        ell = kern.feature_lengthscale
        d = ((expected_f[:, None] - expected_f[None]) ** 2 * omega).sum(-1).sqrt() / ell
        r = math.sqrt(5.0) * d
        kf = (1 + r + r**2 / 3) * torch.exp(-r)
        kzz = kern.latent(z).to_dense()
        c = kzz + 1e-4 * kzz.diagonal().mean() * torch.eye(3, dtype=torch.float64)
        a = torch.linalg.inv(c) @ kzz
        hand = kern.coupled_scale * a.T @ kf @ a + kern.addon(z).to_dense()
        torch.testing.assert_close(kern(z).to_dense(), hand, rtol=1e-8, atol=1e-10)


def test_equals_coupled_scores_when_wstar_is_the_reference() -> None:
    z = torch.rand(10, 2, dtype=torch.float64)
    ref = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    today, _, _ = _kernel(z, _scores(), ref, 3)
    flat = torch.zeros(1, 3, dtype=torch.float64)  # equal means: the adversary keeps ref
    wstar = incumbent_weights(flat, torch.zeros(1), KLBall(0.5), ref)
    ours, _, _ = _kernel(z, _scores(), wstar, 3)
    x = torch.rand(7, 2, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(ours(x, z).to_dense(), today(x, z).to_dense())


def _engine(kernel: str) -> RobustBO:
    return RobustBO(dim=3, n_groups=2, budget=40, seed=1, kernel=kernel, n_init=10, batch_size=10)


def _tell(bo: RobustBO, proposal) -> None:
    z, groups = proposal.z, proposal.groups
    scores = torch.stack([torch.sin(3 * z[:, 0]), torch.cos(2 * z[:, 1])] * 2, -1)
    scores = (scores > 0).double().reshape(len(z), 2, 2).transpose(1, 2).reshape(len(z), 4)
    scores = torch.where(groups.repeat_interleave(2, -1), scores, float("nan"))
    y = torch.where(groups, scores.reshape(len(z), 2, 2).nanmean(-1), float("nan"))
    bo.tell(proposal, y, scores=scores)


def test_engine_first_bo_round_equals_coupled_scores_then_follows_wstar() -> None:
    plain, wstar = _engine("coupled-scores"), _engine("coupled-scores-wstar")
    for _ in range(2):  # Sobol design, then the first BO round (w* still the reference)
        p1, p2 = plain.ask(), wstar.ask()
        assert torch.equal(p1.z, p2.z)
        _tell(plain, p1)
        _tell(wstar, p2)
    assert wstar._wstar is not None
    torch.testing.assert_close(wstar._wstar.sum(), torch.tensor(1.0, dtype=torch.float64))
    restored = RobustBO.from_state_dict(wstar.state_dict())
    torch.testing.assert_close(restored._wstar, wstar._wstar)
    assert torch.equal(restored.ask().z, wstar.ask().z)
