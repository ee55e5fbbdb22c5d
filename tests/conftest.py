"""Shared test set-up: single-threaded torch (2 shared cores here), the data directory, and a
droiz cache folder of the session's own (never the user's)."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

_DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never touch the user's real droiz cache: a session folder for what runs before a test's
    own fixtures (session-scoped ones, such as the tiny model's digest) and for every test;
    ``tests/{bench,llm,runner}`` give each test a folder of its own on top of it."""
    patch = pytest.MonkeyPatch()
    patch.setenv("DROIZ_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data: ``DROIZ_DATA_DIR``, else ``../shared/data`` beside the clone."""
    path = Path(os.environ.get("DROIZ_DATA_DIR", _DEFAULT_DATA))
    if not path.is_dir():
        raise RuntimeError(
            f"benchmark data not found at {path}; set DROIZ_DATA_DIR to the data directory"
        )
    return path
