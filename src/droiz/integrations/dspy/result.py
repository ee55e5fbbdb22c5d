"""What :meth:`RobustInstructionOptimizer.compile` found: the pick and every candidate's groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from droiz.tasks import GroupReport, summarize


@dataclass(frozen=True)
class CandidateResult:
    """One candidate instruction and what was observed of it.

    Attributes:
        instruction: The text. source: ``"current"`` (the program's own), ``"given"``
            (``candidates=``) or ``"proposed"`` (by ``proposer_lm``).
        groups: Mean metric score of every group it was evaluated on, ``{group: mean}``.
        report: droiz's group report (mean, worst group, ...) once it was seen on every group.
    """

    instruction: str
    source: str
    groups: dict[str, float]
    report: GroupReport | None

    @classmethod
    def build(
        cls, instruction: str, source: str, groups: dict[str, float], names: list[str]
    ) -> CandidateResult:
        ordered = {g: groups[g] for g in names if g in groups}
        report = summarize(ordered) if len(ordered) == len(names) else None
        return cls(instruction, source, ordered, report)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "source": self.source,
            "groups": dict(self.groups),
            "report": self.report.to_dict() if self.report else None,
        }


@dataclass(frozen=True)
class RobustCompileResult:
    """The outcome of one ``compile`` (also written to ``out/result.json``).

    Attributes:
        predictor: The predictor whose instruction was chosen.
        instruction: The chosen instruction; ``candidate`` its index in ``candidates``.
        value: Its score under ``selection``, the method's final-pick criterion (``robust``:
            the worst case over the ambiguity set of the GP's group means).
        groups: The size of every group of the valset, ``{group: examples}``.
        candidates: Every candidate (the program's own instruction first).
        evaluations: Evaluations told to the search (the budget counts these).
        stopped: The cap that stopped the search early (``max_requests``, ``max_tokens``,
            ``max_cost``), else ``None``.
        requests: Requests this ``compile`` sent; ``total_requests``: with those of earlier
            ``compile`` calls on the same ``out``.
    """

    predictor: str
    instruction: str
    candidate: int
    value: float
    selection: str
    groups: dict[str, int]
    candidates: tuple[CandidateResult, ...]
    evaluations: int
    stopped: str | None
    requests: int
    total_requests: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "predictor": self.predictor,
            "instruction": self.instruction,
            "candidate": self.candidate,
            "value": self.value,
            "selection": self.selection,
            "groups": dict(self.groups),
            "candidates": [c.to_dict() for c in self.candidates],
            "evaluations": self.evaluations,
            "stopped": self.stopped,
            "requests": self.requests,
            "total_requests": self.total_requests,
        }
