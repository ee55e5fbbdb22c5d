"""The candidate search: the engine searches a finite set of candidates instead of the box.

``RobustBO(..., candidates=F)`` with an ``N x d`` feature matrix ``F`` (one row per candidate, e.g.
the sentence embeddings of a pool's instructions reduced by PCA, or one-hot factor levels) makes
every proposal a set of candidates:

* the features are scaled into ``[-1, 1]^d`` by one affine map (:func:`scale_candidates`): each
  column centred at the middle of its range, all divided by the largest half-range, so the
  geometry between columns is kept;
* the initial design and the model-free methods walk a seeded permutation of the candidates
  (:func:`candidate_order`); a BO round maximises the acquisition exactly over the candidates
  with BoTorch's :func:`~botorch.optim.optimize_acqf_discrete`;
* no evaluation observes a (candidate, group) pair observed before: a candidate may be proposed
  again only on groups it has not been seen on (:func:`observed_pairs`), then on those only,
  even if fewer than ``groups_per_round``; once every pair is observed the run is over
  (``stop()`` says ``{"exhausted": N * K}``).
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.optim.optimize import optimize_acqf_discrete
from torch import Tensor

from droiz.exceptions import ConfigError, ShapeError
from droiz.optim.context import derive_seed

MATCH_TOL = 1e-7
"""A told point is a candidate when within this max-norm distance of its scaled features."""


def check_features(features: object, dim: int | None = None) -> Tensor:
    """The candidates' features as an ``N x d`` float64 tensor: finite, distinct rows.

    Raises:
        ShapeError: Not a non-empty matrix, or (with ``dim``) not ``d`` columns wide.
        ConfigError: A non-finite value, or two candidates with the same features.
    """
    try:
        f = torch.as_tensor(np.asarray(features, dtype=np.float64))
    except (TypeError, ValueError):
        raise ShapeError("candidates must be an N x d matrix of numbers") from None
    if f.dim() != 2 or len(f) == 0 or f.shape[-1] == 0:
        raise ShapeError(f"candidates must be a non-empty N x d matrix, got shape {tuple(f.shape)}")
    if dim is not None and f.shape[-1] != dim:
        raise ShapeError(f"candidates have {f.shape[-1]} features but dim is {dim}")
    if not torch.isfinite(f).all():
        raise ConfigError("candidates must hold finite features (no NaN or inf)")
    _, inverse, counts = torch.unique(f, dim=0, return_inverse=True, return_counts=True)
    if (counts > 1).any():
        same = (inverse == inverse[int((counts[inverse] > 1).nonzero()[0])]).nonzero().flatten()
        i, j = same[:2].tolist()
        raise ConfigError(
            f"candidates {i} and {j} have the same features; give each candidate distinct "
            "features (or drop one of them)"
        )
    return f


def scale_candidates(features: Tensor) -> Tensor:
    """Map the features into ``[-1, 1]^d`` by one affine map: each column centred at the middle
    of its range, every column divided by the largest half-range (a constant column becomes 0)."""
    lo, hi = features.amin(0), features.amax(0)
    half = float(((hi - lo) / 2).max())
    scaled = (features - (lo + hi) / 2) / (half if half > 0 else 1.0)
    return scaled.clamp(-1.0, 1.0)


def candidate_order(n: int, seed: int) -> Tensor:
    """The seeded permutation of the ``n`` candidates that the initial design and the model-free
    methods walk."""
    gen = torch.Generator().manual_seed(derive_seed(seed, 7))
    return torch.randperm(n, generator=gen)


def candidate_index(candidates: Tensor, z: Tensor) -> Tensor:
    """Index of the candidate of each row of ``z`` (``n``, long).

    Raises:
        ConfigError: A row is not a candidate (farther than :data:`MATCH_TOL` from every one).
    """
    if len(z) == 0:
        return torch.zeros(0, dtype=torch.long)
    dist = (z.unsqueeze(1) - candidates.unsqueeze(0)).abs().amax(-1)
    best = dist.argmin(-1)
    far = dist.gather(-1, best.unsqueeze(-1)).squeeze(-1) > MATCH_TOL
    if far.any():
        row = int(far.nonzero()[0])
        raise ConfigError(
            f"row {row} of z is not one of the engine's candidates; in a candidate search tell "
            "the candidates' (scaled) features, as ask() returns them"
        )
    return best


def observed_pairs(candidates: Tensor, z: Tensor, mask: Tensor) -> Tensor:
    """``N x K`` bool: the (candidate, group) pairs the evaluations ``z`` (``n x d``) observed
    (``mask``, ``n x K``)."""
    out = torch.zeros(len(candidates), mask.shape[-1], dtype=torch.bool)
    if len(z):
        out.index_put_((candidate_index(candidates, z),), mask, accumulate=True)
    return out


def maximise_discrete(acq: AcquisitionFunction, choices: Tensor, n: int) -> Tensor:
    """Positions in ``choices`` (``m x d``) of the ``n`` best points by ``acq``, best first: each
    is the exact maximiser over the choices left (:func:`~botorch.optim.optimize_acqf_discrete`
    with ``q = 1``; analytic acquisitions take no pending points, so a batch is the top ``n``)."""
    left = torch.arange(len(choices))
    picked: list[int] = []
    for _ in range(min(n, len(choices))):
        best, _ = optimize_acqf_discrete(acq, q=1, choices=choices[left])
        pos = int((choices[left] == best).all(-1).nonzero()[0])
        picked.append(int(left[pos]))
        left = torch.cat([left[:pos], left[pos + 1 :]])
    return torch.tensor(picked, dtype=torch.long)
