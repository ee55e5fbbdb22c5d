"""The final pick: the engine's best instructions, verified on every group before one is chosen.

With ``finalists = m > 0`` (default 3), the ``m`` distinct instructions the engine ranks highest by
its method's final-pick criterion (read at each instruction's last evaluation) are measured on
every dev group they have not been measured on yet. Those measurements cost requests but no
budget (the engine is not told them). The pick is then the finalist with the best *measured*
value under the method's criterion: the worst case over the ambiguity set around the final
reference weights for ``dro``, ``hybrid`` and ``dro-nobo``; the reference-weighted mean for
``ei``, ``ucb`` and ``random``. So the reported instruction's robust value rests on measurements
of every group, not on the surrogate's extrapolation to groups its soft prompt never saw.

With ``finalists = 0`` the pick is the engine's own
(:func:`~droiz.runner.outputs.summary.summarize_round`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from droiz.optim import SELECTIONS, RobustBO
from droiz.runner.loop.outcomes import Outcome, ScoreBook, group_mean
from droiz.runner.outputs.best import Finalist, FinalPick
from droiz.runner.outputs.summary import RoundSummary


def rank_instructions(engine: RobustBO, outcomes: Sequence[Outcome]) -> list[tuple[int, float]]:
    """``(last evaluation, engine score)`` of every distinct instruction, best first."""
    scores = engine.best().scores
    last = sorted({o.instruction: o.index for o in outcomes}.values())
    return sorted(((i, float(scores[i])) for i in last), key=lambda t: (-t[1], t[0]))


def verification(
    finalists: Sequence[int], outcomes: Sequence[Outcome], book: ScoreBook, n_groups: int
) -> list[Outcome]:
    """Pseudo-evaluations measuring each finalist's missing groups (round after the last)."""
    last_round = max(o.round for o in outcomes)
    todo = []
    for slot, index in enumerate(finalists):
        o = outcomes[index]
        missing = [k for k in range(n_groups) if book.get(o.instruction, k) is None]
        if missing:
            todo.append(Outcome(last_round + 1, slot, index, o.z, o.instruction, missing))
    return todo


def choose(
    engine: RobustBO,
    outcomes: Sequence[Outcome],
    book: ScoreBook,
    ranked: Sequence[tuple[int, float]],
) -> FinalPick:
    """The finalist with the best measured value (every finalist measured on every group)."""
    criterion = "robust" if SELECTIONS.get(engine.config.final_selection()).robust else "nominal"
    k = engine.config.n_groups
    rows = []
    for index, model_value in ranked:
        text = outcomes[index].instruction
        scores = [book.get(text, g) for g in range(k)]
        if any(s is None for s in scores):
            raise ValueError(f"finalist {index} has unmeasured groups")
        rows.append((index, model_value, [group_mean(s or []) for s in scores]))
    u = torch.tensor([r[2] for r in rows], dtype=torch.float64)
    worst = engine.ambiguity.worst_case(u, engine.reference)
    nominal = u @ engine.reference
    values = worst.value if criterion == "robust" else nominal
    best = int(torch.argmax(values))  # first on ties: the engine's higher-ranked finalist
    table = [
        Finalist(outcomes[i].instruction, i, mv, float(worst.value[j]), float(nominal[j]))
        for j, (i, mv, _) in enumerate(rows)
    ]
    return FinalPick(
        index=rows[best][0],
        criterion=criterion,
        robust_value=float(worst.value[best]),
        dev=dict(enumerate(rows[best][2])),
        weights=[float(w) for w in worst.weights[best]],
        finalists=table,
    )


def engine_pick(summary: RoundSummary, outcomes: Sequence[Outcome]) -> FinalPick:
    """The engine's own pick as a :class:`FinalPick` (``finalists = 0``)."""
    criterion = "robust" if SELECTIONS.get(summary.selection).robust else "nominal"
    dev = outcomes[summary.index].group_means()
    return FinalPick(summary.index, criterion, summary.robust_value, dev, list(summary.weights))


def final_pick(
    m: int,
    engine: RobustBO,
    outcomes: Sequence[Outcome],
    book: ScoreBook,
    summary: RoundSummary,
    ranked: Sequence[tuple[int, float]] | None = None,
) -> FinalPick:
    """The reported pick once the top ``m`` instructions are verified (``m = 0``: the engine's).

    ``ranked``: the finalists as :func:`rank_instructions` ranked them (its top ``m``), when the
    caller already has them; they are ranked here otherwise (once either way).
    """
    if m == 0:
        return engine_pick(summary, outcomes)
    if ranked is None:
        ranked = rank_instructions(engine, outcomes)[:m]
    return choose(engine, outcomes, book, ranked)
