"""The frozen context of one round: what a method's acquisition, group rule and final pick see.

Acquisitions, group rules and selection criteria receive a :class:`RoundContext` (and the fitted
surrogate), never the engine, so a method is a pure function of the round's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import Tensor

from droiz.ambiguity import AmbiguitySet

__all__ = ["RoundContext", "derive_seed"]


def derive_seed(*parts: int) -> int:
    """A 63-bit seed derived from the run seed and counters (round, search index, ...)."""
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


@dataclass(frozen=True)
class RoundContext:
    """Everything a method may read about the current round (read-only).

    Attributes:
        round: The BO round, counted from 1 (0 is the initial design).
        beta: The exploration weight of the round, ``beta_schedule(round)`` (0 in round 0).
        reference: ``K`` reference weights, the centre of the ambiguity set, fixed for the round.
        ambiguity: The ambiguity set.
        z: ``n x d`` evaluated soft prompts (float64). y: ``n x K`` observed means, NaN where
            not observed. mask: ``n x K`` observed groups.
        budget: Evaluations in the run. seed: The run seed (derive others with
            :func:`derive_seed`).
        groups_per_round: Groups each evaluation observes.
        settings: The engine's configuration as a dict (e.g. ``hybrid_start``).
    """

    round: int
    beta: float
    reference: Tensor
    ambiguity: AmbiguitySet
    z: Tensor
    y: Tensor
    mask: Tensor
    budget: int
    seed: int
    groups_per_round: int
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_evaluations(self) -> int:
        return len(self.z)

    @property
    def progress(self) -> float:
        """Fraction of the budget told so far, in ``[0, 1]``."""
        return min(1.0, self.n_evaluations / self.budget)

    def seed_for(self, *parts: int) -> int:
        """A seed derived from the run seed, the round and ``parts``."""
        return derive_seed(self.seed, self.round, *parts)
