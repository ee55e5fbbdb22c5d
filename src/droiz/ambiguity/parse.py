"""Parse ambiguity-set specs such as ``"kl:0.1"`` (used by the CLI and config files)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet
from droiz.exceptions import AmbiguitySetError


def parse_ambiguity(spec: str) -> AmbiguitySet:
    """Build an ambiguity set from a spec string ``"name:radius"`` or ``"nominal"``.

    Specs: ``kl:EPS``, ``chi2:EPS``, ``tv:DELTA``, ``cvar:ALPHA``, ``w1:EPS`` (discrete ground
    cost, i.e. the TV ball) and ``nominal``. Names are case-insensitive; spaces around the parts
    are ignored. ``parse_ambiguity(s.to_spec()) == s`` for every set that has a spec.

    Args:
        spec: The spec string.

    Returns:
        The ambiguity set.

    Raises:
        UnknownNameError: The name is not registered (the message suggests the closest one).
        AmbiguitySetError: The spec is not a string, or its radius is missing or invalid.
    """
    if not isinstance(spec, str):
        raise AmbiguitySetError(
            f"ambiguity spec must be a string like 'kl:0.1', got {type(spec).__name__} {spec!r}"
        )
    name, sep, arg = spec.partition(":")
    cls = AMBIGUITY_SETS.get(name.strip().lower())
    try:
        return cls.from_spec(spec, arg if sep else None)
    except AmbiguitySetError as exc:
        if str(exc).startswith("ambiguity spec"):
            raise
        raise AmbiguitySetError(f"ambiguity spec {spec!r}: {exc}") from None


def ambiguity_to_config(ambiguity: AmbiguitySet) -> str | dict[str, Any]:
    """A JSON-ready description: the spec string when it rebuilds the set exactly (``"kl:0.1"``),
    else :meth:`~droiz.ambiguity.AmbiguitySet.to_dict` (e.g. a W1 ball with a cost matrix)."""
    try:
        spec = ambiguity.to_spec()
        if parse_ambiguity(spec) == ambiguity:
            return spec
    except AmbiguitySetError:
        pass
    data = ambiguity.to_dict()
    if ambiguity_from_config(data) != ambiguity:
        raise AmbiguitySetError(
            f"{ambiguity!r} does not survive to_dict()/from_dict(); override both in "
            f"{type(ambiguity).__name__} so that the engine can save its state"
        )
    return data


def ambiguity_from_config(value: str | Mapping[str, Any] | AmbiguitySet) -> AmbiguitySet:
    """The set described by a spec string, a :meth:`~droiz.ambiguity.AmbiguitySet.to_dict`
    mapping, or the set itself."""
    if isinstance(value, AmbiguitySet):
        return value
    if isinstance(value, Mapping):
        if "name" not in value:
            raise AmbiguitySetError(f"an ambiguity-set mapping needs a 'name', got {dict(value)}")
        return AMBIGUITY_SETS.get(str(value["name"])).from_dict(dict(value))
    return parse_ambiguity(value)
