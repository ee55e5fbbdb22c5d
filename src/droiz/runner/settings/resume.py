"""The rules of ``--resume``: a resumed run uses the settings saved in its ``config.json``; only
the settings in :data:`~droiz.runner.settings.config.RESUMABLE` (where things are, the caps, the
tracker) may be given anew.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError
from droiz.redact import MASK
from droiz.runner.settings.config import RESUMABLE, RunConfig
from droiz.runner.settings.files import (
    check_overridden,
    config_from_dict,
    load_config_file,
    normalise_keys,
)
from droiz.runner.store.rundir import RunDir


def resume_config(
    out: RunDir | Path,
    explicit: Mapping[str, Any],
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> RunConfig:
    """The saved settings of the run in ``out``, with the location settings given now.

    Raises:
        ConfigError: A given setting other than a location setting differs from the saved one.
    """
    run_dir = out if isinstance(out, RunDir) else RunDir(out)
    saved = config_from_dict(run_dir.read_config()["settings"])
    given: dict[str, Any] = {}
    if isinstance(config, Mapping):
        given.update(normalise_keys(config))
    elif config is not None:
        given.update(load_config_file(config))
    flags = normalise_keys({k: v for k, v in explicit.items() if v is not None})
    check_overridden(given, flags, None if isinstance(config, Mapping) else config)
    given.update(flags)
    if saved.base_url and MASK in saved.base_url and given.get("base_url") is None:
        raise ConfigError(
            f"the run in {out} used a --base-url with credentials, which are not saved; pass "
            "the same --base-url again to resume"
        )
    differ = saved.explicit_diff(given)
    if differ:
        detail = ", ".join(f"{k}: saved {getattr(saved, k)!r}" for k in differ)
        raise ConfigError(
            f"cannot resume {out} with different settings ({detail}); drop those options to "
            "continue the run, or start a new run with another --out"
        )
    return dataclasses.replace(saved, **{k: v for k, v in given.items() if k in RESUMABLE})
