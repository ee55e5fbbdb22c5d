"""A tiny name registry with "did you mean" errors (methods, kernels, sets, metrics, backends)."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from droiz.exceptions import ConfigError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects (classes, factories, functions).

    Args:
        kind: What the registry holds, used in error messages (e.g. ``"ambiguity set"``).
        entry_points: An entry-point group (e.g. ``"droiz.methods"``) whose entries are imported
            the first time a name is not found, so installed plugins register themselves.
    """

    def __init__(self, kind: str, entry_points: str | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._group = entry_points
        self._loaded = entry_points is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name``; a duplicate name raises."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def get(self, name: str) -> T:
        if name not in self._items:
            self.load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(unknown_name_message(self.kind, name, self._items)) from None

    def names(self) -> list[str]:
        self.load_entry_points()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            self.load_entry_points()
        return name in self._items

    def load_entry_points(self) -> None:
        """Import every entry point of the registry's group (once)."""
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=str(self._group)):
            try:
                ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"the {self._group} entry point {ep.name!r} ({ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    @contextmanager
    def scoped(self) -> Iterator[Registry[T]]:
        """A block whose registrations are undone at its end (for tests).

        Everything registered inside the block, directly or by loading entry points, is removed
        when it ends, even on an error, and what was registered before is left as it was.

        Example:
            >>> with METRICS.scoped():
            ...     METRICS.add("always_one", lambda prediction, gold: 1.0)
            ...     ...  # "always_one" is known here, and unknown again after the block
        """
        items, loaded = dict(self._items), self._loaded
        try:
            yield self
        finally:
            self._items.clear()
            self._items.update(items)
            self._loaded = loaded


def load_plugins(modules: Iterable[str]) -> None:
    """Import the modules that register methods, kernels or selections (``--plugin MODULE``)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise ConfigError(
                f"--plugin {name}: importing it failed ({type(exc).__name__}: {exc}); put the "
                "module on PYTHONPATH (or install its package) and fix its errors"
            ) from None


def unknown_name_message(kind: str, name: str, known: Iterable[object]) -> str:
    """One-line message for an unknown name, with a "did you mean" suggestion when one is close."""
    choices = sorted(str(k) for k in known)
    close = difflib.get_close_matches(str(name), choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (expected one of: {', '.join(choices)})"
