"""The ask/tell engine (``RobustBO``), its registered methods, CMA-ES search and Sobol design."""

from __future__ import annotations

from droiz.optim.config import EngineConfig
from droiz.optim.context import RoundContext
from droiz.optim.engine import RobustBO
from droiz.optim.methods import METHODS, Method, register_method
from droiz.optim.proposal import Proposal
from droiz.optim.reference import GROUP_RULES, register_group_rule
from droiz.optim.selection import SELECTIONS, Best, register_selection

__all__ = [
    "GROUP_RULES",
    "METHODS",
    "SELECTIONS",
    "Best",
    "EngineConfig",
    "Method",
    "Proposal",
    "RobustBO",
    "RoundContext",
    "register_group_rule",
    "register_method",
    "register_selection",
]
