"""Shared test set-up: single-threaded torch (2 shared cores here) and the data directory."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

_DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data: ``DROIZ_DATA_DIR``, else ``../shared/data`` beside the clone."""
    path = Path(os.environ.get("DROIZ_DATA_DIR", _DEFAULT_DATA))
    if not path.is_dir():
        raise RuntimeError(
            f"benchmark data not found at {path}; set DROIZ_DATA_DIR to the data directory"
        )
    return path
