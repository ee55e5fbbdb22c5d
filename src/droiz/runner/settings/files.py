"""Config files and the precedence of settings: explicit arguments (CLI flags, keyword arguments
of :func:`droiz.optimize`) over a config file (``--config FILE``, JSON or TOML) over the defaults
of :class:`~droiz.runner.settings.config.RunConfig`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError, DroizError
from droiz.registry import unknown_name_message
from droiz.runner.settings.config import RUN_SCHEMA, RunConfig
from droiz.validate import MAX_NESTING, nesting, read_input_text


def normalise_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keys with ``-`` spelled ``_``; unknown keys raise with a "did you mean"."""
    known = {f.name for f in dataclasses.fields(RunConfig)}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise ConfigError(unknown_name_message("setting", name, known))
        out[name] = value
    return out


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON or TOML config file (by suffix; ``.toml`` is TOML, anything else JSON)."""
    return normalise_keys(read_config_file(path))


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The table of a JSON or TOML config file as written (keys not checked)."""
    path = Path(path)
    text = read_input_text(path, "the config file")
    too_deep = (
        f"config file {str(path)!r} nests tables or lists more than {MAX_NESTING} levels deep"
    )
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        first = str(exc).splitlines()[0]
        raise ConfigError(f"config file {str(path)!r} is not valid {kind}: {first}") from None
    except RecursionError:  # nested far deeper than the bound: the parser's stack ran out
        raise ConfigError(too_deep) from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a table/object of settings")
    if nesting(data) > MAX_NESTING:
        raise ConfigError(too_deep)
    return data


def resolve_config(
    explicit: Mapping[str, Any],
    config_file: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> RunConfig:
    """Merge defaults < config file < explicit settings (``None`` means "not given")."""
    base: dict[str, Any] = {}
    if isinstance(config_file, Mapping):
        base = normalise_keys(config_file)
    elif config_file is not None:
        base = load_config_file(config_file)
    given = normalise_keys({k: v for k, v in explicit.items() if v is not None})
    check_overridden(base, given, None if isinstance(config_file, Mapping) else config_file)
    try:
        return RunConfig(**{**base, **given})
    except TypeError as exc:  # a wrongly typed value from a config file
        raise ConfigError(f"invalid settings: {exc}") from None


def check_overridden(
    base: Mapping[str, Any], given: Mapping[str, Any], where: str | os.PathLike[str] | None
) -> None:
    """Check the config values that explicit settings override, as if they were used: a config
    file with a bad value is bad input even where a flag wins (its type and checks, and the
    local checks of a generator or executor spec: a pool file that does not exist)."""
    from droiz.llm.backends import check_executor, check_generator

    schema = {s.name: s for s in RUN_SCHEMA}
    merged = {**base, **given}
    shown = "the config" if where is None else f"config file {os.fspath(where)!r}"
    for name in [k for k in base if k in given and base[k] is not None]:
        setting = schema[name]
        try:
            value = setting.value_of(base[name])
            setting.check(value, merged)
            if name == "generator":
                check_generator(value, merged.get("generator_options") or {})
            elif name == "executor":
                check_executor(value, merged.get("executor_options") or {})
        except DroizError as exc:
            raise ConfigError(f"{shown}: {exc} (a flag overrides it; fix or drop it)") from None


def config_from_dict(data: Mapping[str, Any]) -> RunConfig:
    """Rebuild a :class:`RunConfig` saved by :meth:`RunConfig.to_dict`."""
    if not isinstance(data, Mapping):
        raise ConfigError("the saved settings are not a table of settings")
    return RunConfig(**normalise_keys(data))
