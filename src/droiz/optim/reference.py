"""Reference weights: the centre of the ambiguity set, and which groups each evaluation observes.

Group rules (which groups a BO-round candidate is evaluated on) are registered by name in
:data:`GROUP_RULES`: ``rule(model, ctx, z) -> n x K`` bool mask for the ``n x d`` candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from droiz.optim.context import RoundContext
from droiz.registry import Registry
from droiz.surrogate.model import GroupGP, masked_mean

GroupRuleFn = Callable[[GroupGP | None, RoundContext, Tensor], Tensor]


@dataclass(frozen=True)
class GroupRule:
    """A registered group rule: ``fn(model, ctx, z)``; ``model`` is ``None`` unless
    ``needs_model``."""

    name: str
    fn: GroupRuleFn
    needs_model: bool


GROUP_RULES: Registry[GroupRule] = Registry("group rule")
"""Group rules by name: ``adversarial`` and ``reference``."""


def register_group_rule(name: str, *, needs_model: bool) -> Callable[[GroupRuleFn], GroupRuleFn]:
    """Decorator registering ``fn(model, ctx, z) -> n x K`` as the group rule ``name``."""

    def deco(fn: GroupRuleFn) -> GroupRuleFn:
        GROUP_RULES.add(name, GroupRule(name, fn, needs_model))
        return fn

    return deco


def unobserved_groups(ctx: RoundContext, z: Tensor) -> Tensor:
    """``n x K`` bool: the groups not yet observed at each point of ``z`` (an evaluated point
    asked again, as a candidate search does, may only observe its other groups)."""
    free = torch.ones(len(z), ctx.mask.shape[-1], dtype=torch.bool)
    if len(ctx.z) == 0 or len(z) == 0:
        return free
    same = (z.unsqueeze(1) == ctx.z.unsqueeze(0)).all(-1).to(torch.float64)  # n x n_obs
    seen = (same @ ctx.mask.to(torch.float64)) > 0
    return free & ~seen


@register_group_rule("adversarial", needs_model=True)
def adversarial_groups(model: GroupGP | None, ctx: RoundContext, z: Tensor) -> Tensor:
    """Per candidate, the groups with the lowest lower confidence bound ``mu - beta sigma``:
    those where it is most likely weak (unobserved groups have a large sigma, so they get
    checked). Groups already observed at that point are never chosen."""
    assert model is not None  # needs_model
    with torch.no_grad():
        mean, var = model.predict(z)
    lcb = mean - ctx.beta * var.sqrt()
    free = unobserved_groups(ctx, z)
    lcb = torch.where(free, lcb, torch.inf)
    per = min(ctx.groups_per_round, lcb.shape[-1])
    idx = torch.argsort(lcb, dim=-1, stable=True)[:, :per]
    return torch.zeros_like(lcb, dtype=torch.bool).scatter(-1, idx, True) & free


@register_group_rule("reference", needs_model=False)
def reference_groups(model: GroupGP | None, ctx: RoundContext, z: Tensor) -> Tensor:
    """Groups drawn without replacement in proportion to the reference weights (seeded by the
    run seed and the round), among the groups not yet observed at that point."""
    free = unobserved_groups(ctx, z)
    return sampled_groups(len(z), ctx.reference, ctx.groups_per_round, ctx.seed_for(1), free)


def update_reference(
    weights: Tensor, ybar: Tensor, eta: float = 0.2, delta: float = 0.05
) -> Tensor:
    """One EMA step towards inverse-score weights, so that weak groups gain weight.

    ``w <- (1 - eta) w + eta * normalise(1 / (ybar + delta))``, then floored at ``1e-3 / K`` and
    renormalised (KL and chi-square balls cannot move mass to groups with zero weight).

    Args:
        weights: ``K`` current reference weights. ybar: ``K`` mean observed score per group,
            normalised to ``[0, 1]`` (see :func:`normalise_scores`).
        eta: EMA step in ``[0, 1]``. delta: Offset keeping ``1 / (ybar + delta)`` finite.
    """
    inverse = 1.0 / (ybar.clamp(0.0, 1.0) + delta)
    new = (1.0 - eta) * weights + eta * inverse / inverse.sum()
    return floor_weights(new)


def normalise_scores(ybar: Tensor, observed: Tensor) -> Tensor:
    """Map per-group means to ``[0, 1]`` by the run's range of scores, widened to ``[0, 1]``.

    ``v = (ybar - lo) / (hi - lo)`` with ``lo = min(0, min observed)`` and ``hi = max(1, max
    observed)`` over every score told so far: scores in ``[0, 1]`` (accuracies) are unchanged,
    and scores on any other scale (negative, or larger than 1) keep their order and spacing.

    Args:
        ybar: ``K`` per-group means. observed: every observed score of the run (any shape).
    """
    lo = min(0.0, float(observed.min())) if observed.numel() else 0.0
    hi = max(1.0, float(observed.max())) if observed.numel() else 1.0
    return (ybar - lo) / (hi - lo)


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


def sampled_groups(
    n: int, weights: Tensor, per_eval: int, seed: int, free: Tensor | None = None
) -> Tensor:
    """Each of ``n`` evaluations observes ``per_eval`` groups drawn without replacement with
    probabilities proportional to the reference ``weights`` (``K``), seeded; with ``free``
    (``n x K`` bool), only among a row's free groups (all of them when fewer)."""
    k = weights.shape[-1]
    mask = torch.zeros(n, k, dtype=torch.bool)
    rng = np.random.default_rng(seed)
    p = weights.detach().cpu().numpy().astype(np.float64)
    p = p / p.sum()
    for i in range(n):
        if free is None or bool(free[i].all()):
            chosen = rng.choice(k, size=min(per_eval, k), replace=False, p=p)
        else:
            allowed = free[i].numpy()
            if not allowed.any():
                continue
            q = np.where(allowed, p, 0.0)
            size = min(per_eval, int(allowed.sum()))
            chosen = rng.choice(k, size=size, replace=False, p=q / q.sum())
        mask[i, torch.from_numpy(chosen)] = True
    return mask
