"""The per-round summary of the engine's pick: which instruction, its robust value and the
adversary's weights at it (journaled in each round's ``tell`` record)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from droiz.optim import SELECTIONS, RobustBO
from droiz.optim.selection import restrict
from droiz.runner.loop.outcomes import Outcome


@dataclass(frozen=True)
class RoundSummary:
    """The engine's pick after a round (journaled in the round's ``tell`` record).

    Attributes:
        round: Round number. n_evaluations: Evaluations told so far.
        index: Evaluation number of the pick. value: Its score under ``selection``.
        selection: The method's own final-pick criterion.
        robust_value: The pick's worst case over the ambiguity set (posterior means for the
            GP-based methods, observed group means for ``random`` and ``dro-nobo``).
        weights: The adversary's group weights at the pick (which groups are weakest).
        reference: The reference weights (the centre of the ambiguity set).
    """

    round: int
    n_evaluations: int
    index: int
    value: float
    selection: str
    robust_value: float
    weights: list[float]
    reference: list[float]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundSummary:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def summarize_round(engine: RobustBO, outcomes: Sequence[Outcome]) -> RoundSummary:
    """The pick, its robust value and the adversary's weights at it.

    The pick is an instruction: the engine's final-pick criterion is read at each distinct
    instruction's last evaluation (the one told the most groups), and the best of those wins.
    """
    best = engine.best()
    index = instruction_pick(best.scores, outcomes)
    ref = engine.reference
    if SELECTIONS.get(best.selection).needs_model:
        robust = best if best.selection == "robust" else engine.best("robust")
        z = torch.tensor([outcomes[index].z], dtype=torch.float64)
        mean, _ = engine.posterior(z)
        weights = engine.ambiguity.worst_case(mean, ref).weights[0]
        robust_value = float(robust.scores[index])
    else:
        robust_value, weights = observed_worst(engine, outcomes[index])
    return RoundSummary(
        round=engine.n_proposals,
        n_evaluations=engine.n_evaluations,
        index=index,
        value=float(best.scores[index]),
        selection=best.selection,
        robust_value=robust_value,
        weights=[float(w) for w in weights],
        reference=[float(w) for w in ref],
    )


def instruction_pick(scores: torch.Tensor, outcomes: Sequence[Outcome]) -> int:
    """Index of the best score among each instruction's last evaluation (first on ties)."""
    last = {o.instruction: o.index for o in outcomes}
    candidates = sorted(last.values())
    values = scores[candidates]
    return candidates[int(torch.argmax(values))]


def observed_worst(engine: RobustBO, outcome: Outcome) -> tuple[float, torch.Tensor]:
    """Worst case over the observed groups only, with the reference renormalised on them."""
    means = outcome.group_means()
    idx = torch.tensor(sorted(means))
    u = torch.tensor([[means[k] for k in sorted(means)]], dtype=torch.float64)
    ref = engine.reference[idx] / engine.reference[idx].sum()
    worst = restrict(engine.ambiguity, idx).worst_case(u, ref)
    weights = torch.zeros(engine.config.n_groups, dtype=torch.float64)
    weights[idx] = worst.weights[0]
    return float(worst.value.reshape(-1)[0]), weights
