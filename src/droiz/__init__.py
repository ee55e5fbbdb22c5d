"""droiz: distributionally robust instruction optimisation for black-box LLMs (DRO-InstructZero)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
