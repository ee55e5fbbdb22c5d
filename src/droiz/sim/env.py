"""A SIMULATED prompt environment for the demo and the optimiser benchmarks (no LLM involved).

Numbers produced here are simulated and are always labelled so; they say how the optimisers
behave on a controlled landscape, not how an LLM behaves.

* A soft prompt ``z`` in ``[-1, 1]^d`` maps to an instruction of a fixed pool by the nearest
  neighbour of a seeded random projection ``A z`` (piecewise constant, as an LLM decoder is).
* Success probabilities per instruction and group follow :mod:`droiz.sim.scenarios`.
* Per-example outcomes are deterministic given the instruction, the example and the seed.
* Each group has a fixed dev set (``n_dev`` examples, what the optimiser sees) and a separate test
  set (``n_test`` examples); the shifted test mixture is the one of :mod:`droiz.tasks.evaluation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from droiz.sim.scenarios import Scenario, get_scenario
from droiz.tasks.evaluation import CLEAN, GroupReport, summarize

LABEL = "SIMULATED"


@dataclass(frozen=True)
class SimEvaluation:
    """Observed dev results of ``n`` soft prompts.

    Attributes:
        instructions: ``n`` pool indices. y: ``n x K`` dev means (NaN where not evaluated).
        scores: ``n x (K n_dev)`` per-example outcomes, grouped by group (NaN where not evaluated).
    """

    instructions: list[int]
    y: Tensor
    scores: Tensor


class SimulatedPromptEnv:
    """The simulated environment of one scenario and seed.

    Args:
        scenario: ``"tradeoff"`` (default), ``"neutral"`` or a :class:`Scenario`.
        seed: Seeds the pool, the projection and every outcome.
        dim: Soft-prompt dimension.
    """

    def __init__(self, scenario: str | Scenario = "tradeoff", seed: int = 0, dim: int = 10) -> None:
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        self.seed, self.dim = seed, dim
        sc = self.scenario
        rng = np.random.default_rng([seed, 20261123])
        self.groups = [CLEAN] + [f"shift{t}" for t in range(1, sc.n_groups)]
        self.projection = rng.normal(size=(sc.space_dim, dim)) / np.sqrt(dim / 3.0)
        self.keys = rng.uniform(-1, 1, size=(sc.pool_size, dim)) @ self.projection.T
        self.robustness, self.vulnerability, ability = _landscape(self.keys, sc, rng)
        self.prob = _probabilities(ability, self.robustness, self.vulnerability, sc)  # P x K
        self._dev = rng.random((sc.pool_size, sc.n_groups, sc.n_dev)) < self.prob[..., None]
        self._test = rng.random((sc.pool_size, sc.n_groups, sc.n_test)) < self.prob[..., None]

    @property
    def n_groups(self) -> int:
        return self.scenario.n_groups

    def instruction(self, z: Tensor) -> list[int]:
        """Pool index of the instruction each soft prompt (``n x d``) decodes to."""
        proj = np.asarray(z, dtype=np.float64) @ self.projection.T  # n x space_dim
        dist = ((proj[:, None, :] - self.keys[None]) ** 2).sum(-1)
        index: list[int] = dist.argmin(-1).tolist()
        return index

    def evaluate(self, z: Tensor, groups: Tensor) -> SimEvaluation:
        """Dev results of ``n x d`` soft prompts on the groups of the ``n x K`` mask."""
        ids = self.instruction(z)
        mask = torch.as_tensor(groups, dtype=torch.bool)
        outcomes = torch.from_numpy(self._dev[ids].astype(np.float64))  # n x K x n_dev
        y = torch.where(mask, outcomes.mean(-1), float("nan"))
        scores = torch.where(mask[..., None], outcomes, float("nan")).reshape(len(ids), -1)
        return SimEvaluation(ids, y, scores)

    def test_accuracy(self, instruction: int) -> dict[str, float]:
        """Per-group test accuracy of a pool instruction."""
        acc = self._test[instruction].mean(-1)
        return {g: float(a) for g, a in zip(self.groups, acc, strict=True)}

    def report(self, instruction: int) -> GroupReport:
        """Mean, worst-group and shifted-mixture test accuracy (droiz.tasks.evaluation)."""
        return summarize(self.test_accuracy(instruction))

    def oracle(self) -> dict[str, int]:
        """Pool indices with the best true mean and the best true worst-group probability."""
        return {
            "best_mean": int(self.prob.mean(-1).argmax()),
            "best_worst_group": int(self.prob.min(-1).argmax()),
        }


def _smooth(
    keys: np.ndarray, rng: np.random.Generator, frequency: float, n_features: int = 24
) -> np.ndarray:
    """A standardised smooth random function of the keys (random Fourier features)."""
    freq = rng.normal(scale=frequency, size=(keys.shape[-1], n_features))
    phase = rng.uniform(0, 2 * np.pi, n_features)
    coef = rng.normal(size=n_features)
    values = np.cos(keys @ freq + phase) @ coef
    standardised: np.ndarray = (values - values.mean()) / values.std()
    return standardised


def _landscape(
    keys: np.ndarray, sc: Scenario, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ability ``P``, robustness ``P`` in [0, 1] and vulnerability ``P x (K-1)`` in [0, 1]."""
    ability = _smooth(keys, rng, sc.frequency) + sc.ability_noise * rng.normal(size=len(keys))
    ability = (ability - ability.mean()) / ability.std()
    h = _smooth(keys, rng, sc.frequency)
    robust = _sigmoid(sc.sharpness * (h - np.quantile(h, 1.0 - sc.robust_share)))
    shifts = np.stack([_smooth(keys, rng, sc.frequency) for _ in range(sc.n_groups - 1)], -1)
    logits = sc.sharpness * shifts
    vulnerable = np.exp(logits - logits.max(-1, keepdims=True))
    vulnerable /= vulnerable.max(-1, keepdims=True)  # every fragile instruction has a weak group
    return robust, vulnerable, ability


def _sigmoid(x: np.ndarray) -> np.ndarray:
    y: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return y


def _probabilities(
    ability: np.ndarray, robust: np.ndarray, vulnerable: np.ndarray, sc: Scenario
) -> np.ndarray:
    """``P x K`` success probabilities (see :mod:`droiz.sim.scenarios`)."""
    drop = sc.shift_drop + (sc.weak_drop - sc.shift_drop) * vulnerable  # P x (K-1)
    drop = np.concatenate([np.zeros((len(drop), 1)), drop], -1)
    fragile = sc.fragile_bonus - drop
    r = robust[:, None]
    logit = sc.base + sc.slope * ability[:, None] + (1.0 - r) * fragile + r * sc.robust_bonus
    return _sigmoid(logit)
