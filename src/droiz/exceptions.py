"""The droiz exception hierarchy.

Every error raised on purpose by droiz derives from :class:`DroizError`. Subclasses also derive from
the builtin they resemble (``ValueError``, ``KeyError``, ...), so ``except ValueError`` works.
Messages follow one rule: say what was expected, what came, and how to fix it, on one line.
"""

from __future__ import annotations


class DroizError(Exception):
    """Base class of every droiz error."""


class ConfigError(DroizError, ValueError):
    """An argument, option or configuration value is invalid."""


class ShapeError(DroizError, ValueError):
    """A tensor or array has the wrong shape."""


class AmbiguitySetError(ConfigError):
    """An ambiguity set or its inputs (radius, reference weights, utilities) are invalid."""


class SurrogateFitError(DroizError, RuntimeError):
    """The surrogate model could not be fitted."""


class DataError(DroizError, ValueError):
    """A task file or data directory is missing, malformed or inconsistent."""


class UnknownNameError(DroizError, KeyError):
    """A name (method, ambiguity set, task, metric, backend) is not registered."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class BackendError(DroizError, RuntimeError):
    """An LLM backend failed in a way that retries could not fix."""


class MissingDependencyError(DroizError, ImportError):
    """An optional dependency is not installed."""
