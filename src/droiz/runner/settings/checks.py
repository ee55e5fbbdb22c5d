"""Checks of a run's settings: each raises a one-line :class:`~droiz.exceptions.ConfigError`
naming the setting or flag (setting types, where a ``bool`` is not an ``int``; seeds in
``[0, 2**63)``; the budget cap; environment-variable names, URLs, group names, references).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from droiz.exceptions import ConfigError
from droiz.registry import unknown_name_message
from droiz.validate import MAX_COUNT, MAX_SEED, check_count, check_seed

__all__ = ["LARGE_BUDGET", "MAX_COUNT", "MAX_SEED", "check_count", "check_seed"]

LARGE_BUDGET = 100_000
"""A budget above this many evaluations needs ``--allow-large-budget``."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_CHECKS: dict[str, tuple[str, Any]] = {
    "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": (
        "a number",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    ),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "None": ("unset", lambda v: v is None),
    "dict": ("a table", lambda v: isinstance(v, Mapping)),
    "Mapping": ("a table", lambda v: isinstance(v, Mapping)),
    "tuple": ("a list", lambda v: isinstance(v, list | tuple)),
    "list": ("a list", lambda v: isinstance(v, list | tuple)),
    "Sequence": ("a list", lambda v: isinstance(v, list | tuple)),
}


def _alternatives(annotation: str) -> list[str]:
    """The top-level ``|`` alternatives of an annotation string."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(annotation):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "|" and depth == 0:
            out.append(annotation[start:i].strip())
            start = i + 1
    return [*out, annotation[start:].strip()]


def check_type(where: str, value: Any, annotation: Any) -> None:
    """Raise when ``value`` does not fit ``annotation`` (a string such as ``"int | None"``);
    annotations naming other classes are not checked."""
    if not isinstance(annotation, str):
        annotation = getattr(annotation, "__name__", str(annotation))
    wanted = []
    for alt in _alternatives(annotation):
        base = alt.split("[", 1)[0].split(".")[-1].strip()
        if base not in _CHECKS:
            return  # a class we cannot check here: its constructor will
        text, ok = _CHECKS[base]
        if ok(value):
            return
        wanted.append(text)
    kinds = " or ".join(dict.fromkeys(w for w in wanted if w != "unset"))
    raise ConfigError(f"{where} must be {kinds}, got {value!r} ({type(value).__name__})")


def check_fields(obj: Any, prefix: str = "") -> None:
    """Check every field of a dataclass instance against its annotation."""
    for f in dataclasses.fields(obj):
        check_type(prefix + f.name, getattr(obj, f.name), f.type)


def check_mapping(where: str, values: Mapping[str, Any], cls: type) -> None:
    """Check a table of settings against the fields of the dataclass ``cls`` (unknown names with
    "did you mean", wrong types)."""
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(unknown_name_message(f"{where} setting", str(key), fields))
        check_type(f"{where}.{key}", value, fields[key])


def check_budget(budget: int, allow_large: bool) -> None:
    """A budget above :data:`LARGE_BUDGET` needs an explicit ``--allow-large-budget``."""
    check_count("budget", budget, 1, 2**62)
    if budget > LARGE_BUDGET and not allow_large:
        raise ConfigError(
            f"--budget {budget} is more than {LARGE_BUDGET:,} instruction evaluations; pass "
            "--allow-large-budget if you really mean it"
        )


def check_env_name(value: Any, flag: str = "--api-key-env") -> None:
    """The *name* of an environment variable; a value that is not a name (perhaps the key
    itself) is refused without being echoed."""
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise ConfigError(
            f"{flag} must be the NAME of an environment variable (letters, digits and _, e.g. "
            "OPENAI_API_KEY), not the key itself; the given value is not shown"
        )


def check_base_url(url: Any, flag: str = "--base-url") -> None:
    """``None`` (OpenAI) or an http(s) URL with a host and a valid port (credentials masked in
    the message)."""
    if url is None:
        return
    from urllib.parse import urlsplit

    from droiz.redact import redact

    shown = redact(str(url))
    try:
        parts = urlsplit(str(url))
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"{flag} {shown!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{flag} must be an http(s) URL such as http://127.0.0.1:8000/v1, got {shown!r}"
        )


def check_names(flag: str, names: Sequence[str]) -> None:
    """A comma-separated list with no empty or repeated item."""
    if not names or any(not n for n in names):
        raise ConfigError(f"{flag} has an empty name; give comma-separated names, e.g. clean,case")
    if len(set(names)) != len(names):
        raise ConfigError(f"{flag} names a group twice: {','.join(names)}")


REFERENCES = ("train-mix", "uniform")


def _check_choice(name: str, value: str, choices: Collection[str]) -> None:
    if value not in choices:
        raise ConfigError(unknown_name_message(name, value, choices))


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def parse_reference(spec: str, n_groups: int | None = None) -> tuple[float, ...] | str:
    """``train-mix`` / ``uniform``, or comma-separated non-negative weights (normalised).

    Raises:
        ConfigError: Not a keyword and not numbers, a negative or all-zero weight, or (with
            ``n_groups``) the wrong number of weights.
    """
    spec = str(spec).strip()
    if spec in REFERENCES:
        return spec
    try:
        weights = tuple(float(w) for w in spec.split(","))
    except ValueError:
        raise ConfigError(
            f"--reference must be train-mix, uniform or comma-separated weights such as "
            f"0.5,0.25,0.25; got {spec!r}"
        ) from None
    if not all(0 <= w < float("inf") for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"--reference weights must be >= 0 and not all 0, got {spec!r}")
    if n_groups is not None and len(weights) != n_groups:
        raise ConfigError(
            f"--reference has {len(weights)} weights but the run has {n_groups} groups; give "
            f"one weight per group, in the order droiz tasks show lists them"
        )
    total = sum(weights)
    return tuple(w / total for w in weights)
