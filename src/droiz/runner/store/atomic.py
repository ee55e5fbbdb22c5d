"""Whole files of a run directory written atomically (a temporary file, fsync, rename), as
strict JSON (NaN and infinities become ``null``)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` (strict JSON), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file atomically: a temporary file, fsync, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: str | Path, data: object) -> None:
    """Write ``data`` as indented strict JSON, atomically."""
    text = json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False)
    write_atomic(path, text + "\n")
