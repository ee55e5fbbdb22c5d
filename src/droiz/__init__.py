"""droiz: distributionally robust instruction optimisation for black-box LLMs (DRO-InstructZero).

The main entry points::

    import droiz
    result = droiz.optimize(examples, executor=my_llm, generator=["...", "..."], metric="em")
    result.best                          # a RunBest: instruction, robust value, dev and test

    from droiz import RobustBO, KLBall   # the engine alone
    bo = RobustBO(dim=10, n_groups=4, method="dro", ambiguity=KLBall(0.1), budget=150, seed=0)

Names are imported lazily, so ``import droiz`` (and the CLI) does not load torch until needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "CVaR": "droiz.ambiguity",
    "Chi2Ball": "droiz.ambiguity",
    "KLBall": "droiz.ambiguity",
    "Nominal": "droiz.ambiguity",
    "TVBall": "droiz.ambiguity",
    "WassersteinBall": "droiz.ambiguity",
    "parse_ambiguity": "droiz.ambiguity",
    "Best": "droiz.optim",
    "EngineConfig": "droiz.optim",
    "Proposal": "droiz.optim",
    "RobustBO": "droiz.optim",
    "EvaluationResult": "droiz.runner",
    "OptimizeResult": "droiz.runner",
    "RunBest": "droiz.runner",
    "RunConfig": "droiz.runner",
    "callable_executor": "droiz.llm.callables",
    "callable_metric": "droiz.runner.inputs",
    "evaluate": "droiz.runner",
    "optimize": "droiz.runner",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'droiz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
