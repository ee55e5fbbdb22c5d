"""A DSPy optimizer that chooses instructions by their worst case over groups of the valset.

``pip install 'droiz[dspy]'``; see ``docs/dspy.md``::

    from droiz.integrations.dspy import RobustInstructionOptimizer

    optimizer = RobustInstructionOptimizer(metric, group_by="topic", budget=20,
                                           candidates=["...", "..."], out="runs/qa")
    robust_program = optimizer.compile(program, trainset=trainset, valset=valset)
"""

from __future__ import annotations

from droiz._imports import require

require("dspy", "dspy")

from droiz.integrations.dspy.optimizer import RobustInstructionOptimizer  # noqa: E402
from droiz.integrations.dspy.result import CandidateResult, RobustCompileResult  # noqa: E402

__all__ = ["CandidateResult", "RobustCompileResult", "RobustInstructionOptimizer"]
