"""What :func:`droiz.optimize` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from droiz.runner.outputs.summary import RoundSummary
from droiz.tasks import GroupReport


@dataclass
class OptimizeResult:
    """What :func:`droiz.optimize` returns.

    Attributes:
        instruction: The best instruction (the method's final pick).
        robust_value: Its robust value (see :class:`RoundSummary`).
        test: Its test evaluation (per-group, mean, worst-group, shifted mixture, KL worst cases).
        run_dir: The run directory.
        best: The ``best.json`` payload.
        stats: LLM usage of the whole run (all sessions): ``requests``, ``cache_hits``, tokens, ...
        rounds: The per-round summaries.
    """

    instruction: str
    robust_value: float
    test: GroupReport
    run_dir: Path
    best: dict[str, Any]
    stats: dict[str, float] = field(default_factory=dict)
    rounds: list[RoundSummary] = field(default_factory=list)

    @property
    def n_evaluations(self) -> int:
        return self.rounds[-1].n_evaluations if self.rounds else 0

    def __repr__(self) -> str:
        return (
            f"OptimizeResult(instruction={self.instruction!r}, robust_value="
            f"{self.robust_value:.4f}, test_worst_group={self.test.worst_group:.4f}, "
            f"run_dir={str(self.run_dir)!r})"
        )
