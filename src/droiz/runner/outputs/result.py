"""What :func:`droiz.optimize` and :func:`~droiz.runner.replay` return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from droiz.runner.outputs.best import FinalPick, RunBest
from droiz.runner.outputs.summary import RoundSummary
from droiz.runner.store.restore import Restored
from droiz.tasks import GroupReport


@dataclass
class OptimizeResult:
    """What :func:`droiz.optimize` returns.

    Attributes:
        instruction: The best instruction (the method's final pick).
        robust_value: Its robust value (see :class:`RoundSummary`).
        test: Its test evaluation (per-group, mean, worst-group, shifted mixture, KL worst cases).
        run_dir: The run directory.
        best: The run's ``best.json`` (:class:`~droiz.runner.outputs.best.RunBest`: typed, and
            also a read-only dict of the file's content without ``format``).
        stats: LLM usage of the whole run (all sessions): ``requests``, ``cache_hits``, tokens, ...
        rounds: The per-round summaries.
    """

    instruction: str
    robust_value: float
    test: GroupReport
    run_dir: Path
    best: RunBest
    stats: dict[str, float] = field(default_factory=dict)
    rounds: list[RoundSummary] = field(default_factory=list)

    @property
    def run_best(self) -> RunBest:
        """:attr:`best` (its earlier name)."""
        return self.best

    @property
    def n_evaluations(self) -> int:
        return self.rounds[-1].n_evaluations if self.rounds else 0

    def __repr__(self) -> str:
        return (
            f"OptimizeResult(instruction={self.instruction!r}, robust_value="
            f"{self.robust_value:.4f}, test_worst_group={self.test.worst_group:.4f}, "
            f"run_dir={str(self.run_dir)!r})"
        )


def result_from(
    saved: Mapping[str, Any],
    groups: Sequence[str],
    restored: Restored,
    summary: RoundSummary,
    final: FinalPick,
    run_dir: Path,
) -> OptimizeResult:
    """The :class:`OptimizeResult` of a finished run: its ``config.json`` payload ``saved``, its
    journal as ``restored``, the last round's ``summary`` and the ``final`` pick."""
    outcome = restored.outcomes[final.index]
    test = restored.test
    assert test is not None
    fingerprints = saved.get("resolved", {}).get("fingerprints")
    best = RunBest.of_finished_run(
        saved["settings"], groups, outcome, summary, final, test, fingerprints
    )
    assert best.test is not None
    return OptimizeResult(
        instruction=outcome.instruction,
        robust_value=final.robust_value,
        test=best.test.report,
        run_dir=run_dir,
        best=best,
        stats=restored.stats,
        rounds=list(restored.summaries),
    )
