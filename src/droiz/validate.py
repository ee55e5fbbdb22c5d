"""Light checks of plain inputs (seeds, counts, paths, values against type hints), importable
without torch.

Every failure is a one-line :class:`~droiz.exceptions.ConfigError` naming the flag.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError
from droiz.registry import unknown_name_message

MAX_SEED = 2**63
MAX_COUNT = 10_000_000
"""The largest value a count setting may take (the budget has its own cap)."""


def check_seed(value: object, flag: str = "--seed") -> None:
    """Seeds are integers in ``[0, 2**63)``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_SEED:
        raise ConfigError(f"{flag} must be an integer in [0, 2**63), got {value!r}")


def check_count(name: str, value: object, minimum: int = 1, maximum: int = MAX_COUNT) -> None:
    """An integer count in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}")


def check_positive_number(flag: str, value: object, maximum: float = math.inf) -> None:
    """A finite number in ``(0, maximum]``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= maximum
    ):
        raise ConfigError(f"{flag} must be a number in (0, {maximum:g}], got {value!r}")


def check_dir_path(path: str | os.PathLike[str] | None, flag: str) -> Path:
    """A directory that exists or can be created and written: not ``''``, not a file, not below
    a file, and its first existing ancestor writable."""
    if path is None or not os.fspath(path).strip():
        raise ConfigError(f"{flag} is empty; give a directory")
    target = Path(os.fspath(path)).expanduser()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{flag} {str(target)!r} is a file, not a directory")
    _check_ancestors(target, flag)
    return target


def check_file_path(path: str | os.PathLike[str] | None, flag: str) -> Path:
    """A file that can be written: not ``''``, not a directory, not below a file."""
    if path is None or not os.fspath(path).strip():
        raise ConfigError(f"{flag} is empty; give a file name")
    target = Path(os.fspath(path)).expanduser()
    if target.is_dir():
        raise ConfigError(f"{flag} {str(target)!r} is a directory; give a file name")
    _check_ancestors(target.parent if str(target.parent) else Path("."), flag, target)
    if target.exists() and not os.access(target, os.W_OK):
        raise ConfigError(f"{flag} {str(target)!r} cannot be written (permission denied)")
    return target


def _check_ancestors(directory: Path, flag: str, shown: Path | None = None) -> None:
    shown = shown or directory
    ancestor = directory
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise ConfigError(f"{flag} {str(shown)!r} lies below the file {str(ancestor)!r}")
    if ancestor.exists() and not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {str(shown)!r}: cannot write in {str(ancestor)!r}")


_KINDS: dict[Any, tuple[str, Callable[[Any], bool]]] = {
    int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: (
        "a number",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    ),
    str: ("a string", lambda v: isinstance(v, str)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    type(None): ("unset", lambda v: v is None),
    dict: ("a table", lambda v: isinstance(v, Mapping)),
    Mapping: ("a table", lambda v: isinstance(v, Mapping)),
    list: ("a list", lambda v: isinstance(v, list | tuple)),
    tuple: ("a list", lambda v: isinstance(v, list | tuple)),
    Sequence: ("a list", lambda v: isinstance(v, list | tuple)),
}


def check_type(where: str, value: object, hint: object) -> None:
    """Raise when ``value`` does not fit the type hint ``hint`` (a real one, such as
    ``int | None`` or ``dict[str, Any]``, as :func:`type_hints` resolves them): numbers, strings,
    booleans, ``None``, tables and lists, and unions of them. A ``bool`` is not an integer.
    Hints naming other classes are not checked (their constructors check)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    wanted = []
    for alternative in typing.get_args(hint) if union else (hint,):
        kind = _KINDS.get(typing.get_origin(alternative) or alternative)
        if kind is None:
            return  # a class we cannot check here (or Any)
        text, ok = kind
        if ok(value):
            return
        wanted.append(text)
    kinds = " or ".join(dict.fromkeys(w for w in wanted if w != "unset"))
    raise ConfigError(f"{where} must be {kinds}, got {value!r} ({type(value).__name__})")


def type_hints(obj: object) -> dict[str, Any]:
    """The resolved type hints of a class or function (``typing.get_type_hints``; ``{}`` when
    they cannot be resolved, as for a plugin's class whose annotations name what it imports only
    to type-check)."""
    try:
        return typing.get_type_hints(obj)
    except Exception:
        return {}


def check_mapping(where: str, values: Mapping[str, Any], cls: type) -> None:
    """Check a table of settings against the fields of the dataclass ``cls`` (unknown names with
    "did you mean", wrong types)."""
    fields = type_hints(cls) or {f.name: Any for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(unknown_name_message(f"{where} setting", str(key), fields))
        check_type(f"{where}.{key}", value, fields[key])
