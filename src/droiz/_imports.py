"""Lazy imports of optional dependencies with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from droiz.exceptions import MissingDependencyError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise a :class:`MissingDependencyError` naming the extra to install.

    Args:
        module: The module to import, e.g. ``"transformers"``.
        extra: The droiz extra that provides it, e.g. ``"hf"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"droiz needs the optional package {module!r} for this feature, but it is not "
            f"installed; install it with: pip install 'droiz[{extra}]'"
        ) from exc
