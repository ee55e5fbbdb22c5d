"""Where the benchmark data live.

Resolution order: an explicit ``data_dir`` (``--data-dir``), then the ``DROIZ_DATA_DIR``
environment variable, then the folder ``droiz data download`` writes to by default
(:func:`default_download_dir`), if it holds data. Otherwise a :class:`DataError` says how to
provide one.
"""

from __future__ import annotations

import os
from pathlib import Path

from droiz.exceptions import DataError
from droiz.tasks.catalog import BBII, II, IZ

ENV_VAR = "DROIZ_DATA_DIR"

__all__ = ["ENV_VAR", "default_download_dir", "resolve_data_dir"]


def default_download_dir() -> Path:
    """The user data folder that ``droiz data download`` fills by default."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("droiz")) / "data"


def _looks_like_data(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_dir() for name in (II, IZ, BBII))


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data directory to read.

    Args:
        data_dir: An explicit directory; wins over the environment and the default.

    Returns:
        The directory (existing).

    Raises:
        DataError: The given directory does not exist, or none was given and none was found.
    """
    if data_dir is not None:
        return _existing(Path(data_dir).expanduser(), "--data-dir")
    env = os.environ.get(ENV_VAR)
    if env:
        return _existing(Path(env).expanduser(), ENV_VAR)
    default = default_download_dir()
    if _looks_like_data(default):
        return default
    raise DataError(
        f"no benchmark data directory: pass --data-dir DIR (data_dir=... in Python), "
        f"set {ENV_VAR}=DIR, or run `droiz data download` to fetch the data into {default}"
    )


def _existing(path: Path, origin: str) -> Path:
    if not path.is_dir():
        raise DataError(f"data directory {path} (from {origin}) does not exist or is not a folder")
    return path
