"""The ask/tell engine (``RobustBO``), its CMA-ES search, Sobol design and reference weights."""

from __future__ import annotations

from droiz.optim.config import METHODS, EngineConfig
from droiz.optim.engine import Best, RobustBO

__all__ = ["METHODS", "Best", "EngineConfig", "RobustBO"]
