"""Reference weights: the centre of the ambiguity set, and which groups each evaluation observes."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from droiz.surrogate.model import masked_mean


def update_reference(
    weights: Tensor, ybar: Tensor, eta: float = 0.2, delta: float = 0.05
) -> Tensor:
    """One EMA step towards inverse-score weights, so that weak groups gain weight.

    ``w <- (1 - eta) w + eta * normalise(1 / (ybar + delta))``, then floored at ``1e-3 / K`` and
    renormalised (KL and chi-square balls cannot move mass to groups with zero weight).

    Args:
        weights: ``K`` current reference weights. ybar: ``K`` mean observed score per group.
        eta: EMA step in ``[0, 1]``. delta: Offset keeping ``1 / (ybar + delta)`` finite.
    """
    inverse = 1.0 / (ybar.clamp_min(0.0) + delta)
    new = (1.0 - eta) * weights + eta * inverse / inverse.sum()
    return floor_weights(new)


def floor_weights(weights: Tensor) -> Tensor:
    """Renormalise and floor every weight at ``1e-3 / K``; the mass the floor adds is taken from
    the other weights in proportion, so the result sums to 1 and respects the floor exactly."""
    k = weights.shape[-1]
    floor = 1e-3 / k
    w = weights / weights.sum()
    low = w < floor
    for _ in range(k):  # taking mass from the others can push more of them under the floor
        free = 1.0 - floor * int(low.sum())  # an int: a 0-d int tensor would promote to float32
        rest = torch.where(low, 0.0, w)
        w = torch.where(low, floor, rest * free / rest.sum())
        if not (w < floor - 1e-15).any():
            break
        low = low | (w < floor)
    return w


def round_ybar(y: Tensor, mask: Tensor, previous: Tensor) -> Tensor:
    """Mean observed score per group in this round; ``previous`` for groups not observed in it.

    Args:
        y: ``n x K`` observed means (any value where ``mask`` is false). mask: ``n x K`` bool.
        previous: ``K`` fallback values.
    """
    return masked_mean(y, mask, previous)


def initial_groups(n: int, n_groups: int, per_eval: int, offset: int) -> Tensor:
    """Balanced groups for the initial design: point ``i`` observes ``per_eval`` consecutive groups
    starting at ``(offset + i * per_eval) mod K``, so every group is covered equally often."""
    mask = torch.zeros(n, n_groups, dtype=torch.bool)
    for i in range(n):
        for j in range(min(per_eval, n_groups)):
            mask[i, (offset + i * per_eval + j) % n_groups] = True
    return mask


def sampled_groups(n: int, weights: Tensor, per_eval: int, seed: int) -> Tensor:
    """Each of ``n`` evaluations observes ``per_eval`` groups drawn without replacement with
    probabilities proportional to the reference ``weights`` (``K``), seeded."""
    k = weights.shape[-1]
    mask = torch.zeros(n, k, dtype=torch.bool)
    rng = np.random.default_rng(seed)
    p = weights.detach().cpu().numpy().astype(np.float64)
    p = p / p.sum()
    for i in range(n):
        chosen = rng.choice(k, size=min(per_eval, k), replace=False, p=p)
        mask[i, torch.from_numpy(chosen)] = True
    return mask
