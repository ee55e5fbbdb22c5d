"""Checks of local inputs, run before any model is loaded or any endpoint is probed.

Every failure is a one-line :class:`~droiz.exceptions.ConfigError` naming the flag, file or field:
setting types (a ``bool`` is not an ``int``), seeds in ``[0, 2**63)``, the budget cap, endpoint
URLs and names of environment variables. The checks of back-end options and model names live with
the back ends, in :mod:`droiz.llm.checks`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from droiz.exceptions import ConfigError
from droiz.validate import MAX_COUNT, MAX_SEED, check_count, check_mapping, check_seed, check_type

__all__ = [
    "LARGE_BUDGET",
    "MAX_COUNT",
    "MAX_SEED",
    "check_count",
    "check_mapping",
    "check_seed",
    "check_type",
]

LARGE_BUDGET = 100_000
"""A budget above this many evaluations needs ``--allow-large-budget``."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_fields(obj: Any, prefix: str = "") -> None:
    """Check every field of a dataclass instance against its annotation."""
    for f in dataclasses.fields(obj):
        check_type(prefix + f.name, getattr(obj, f.name), f.type)


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
    """``None`` (OpenAI) or a base URL :func:`droiz.llm.endpoint.parse_base_url` takes apart
    (credentials masked in the message)."""
    if url is not None:
        from droiz.llm.endpoint import parse_base_url

        parse_base_url(url, flag)


def check_names(flag: str, names: Sequence[str]) -> None:
    """A comma-separated list with no empty or repeated item."""
    if not names or any(not n for n in names):
        raise ConfigError(f"{flag} has an empty name; give comma-separated names, e.g. clean,case")
    if len(set(names)) != len(names):
        raise ConfigError(f"{flag} names a group twice: {','.join(names)}")
