"""Result objects, the per-round summary of the engine's pick, and the ``best.json`` payload.

Everything in ``best.json`` is a pure function of the journal and the engine state it restores,
so :func:`~droiz.runner.replay` rebuilds it exactly, and a resumed run writes the same file as an
uninterrupted one (no timings or request counts go into it; those are in ``report.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from droiz.optim import SELECTIONS, RobustBO
from droiz.optim.selection import restrict
from droiz.runner.loop.outcomes import Outcome, ScoreColumns
from droiz.runner.store.records import Test


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


def build_best(
    settings: Mapping[str, Any],
    columns: ScoreColumns,
    outcome: Outcome,
    summary: RoundSummary,
    final: FinalPick,
    test: Test,
    fingerprints: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``best.json`` payload (see ``docs/runner.md``)."""
    names = columns.names
    weakest = max(range(len(names)), key=lambda k: final.weights[k])
    return {
        "instruction": outcome.instruction,
        "robust_value": final.robust_value,
        "criterion": final.criterion,
        "method": settings["method"],
        "ambiguity": settings["ambiguity"],
        "answer_filter": settings.get("answer_filter"),
        "task": list(settings["task"]),
        "seed": settings["seed"],
        "budget": settings["budget"],
        "evaluation": outcome.index,
        "round": outcome.round,
        "z": outcome.z,
        "groups": list(names),
        "reference": summary.reference,
        "worst_case_weights": final.weights,
        "weakest_group": names[weakest],
        "dev": {names[k]: v for k, v in sorted(final.dev.items())},
        "engine_pick": {
            "evaluation": summary.index,
            "selection": summary.selection,
            "value": summary.value,
            "robust_value": summary.robust_value,
        },
        "finalists": list(final.finalists),
        "test": dict(test.report) | {"n_examples": dict(test.n_examples)},
        "fingerprints": dict(fingerprints or {}),
    }


@dataclass(frozen=True)
class FinalPick:
    """The reported instruction.

    Attributes:
        index: Evaluation number of the pick (its last evaluation).
        criterion: ``robust`` or ``nominal``: how the finalists were compared.
        robust_value: Worst case over the ambiguity set of the pick's dev group means (with
            ``finalists = 0``: the engine's estimate).
        dev: The pick's dev mean of every measured group, by group index.
        weights: The adversary's group weights at the pick.
        finalists: One dict per finalist: ``instruction``, ``evaluation``, ``model_value``,
            ``dev_robust``, ``dev_nominal``.
    """

    index: int
    criterion: str
    robust_value: float
    dev: dict[int, float]
    weights: list[float]
    finalists: list[dict[str, Any]] = field(default_factory=list)
