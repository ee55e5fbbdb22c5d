"""Set-up of the integration tests: DSPy offline and with its disk cache in a temporary folder.

DSPy refreshes its model metadata over the network unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is
set, and keeps its response cache under ``~/.dspy_cache`` unless ``DSPY_CACHEDIR`` names another
folder; both are set here, before any test imports DSPy. Puts this folder on the path so that
the fake world (``dspy_world``) is importable.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_CACHE = tempfile.mkdtemp(prefix="droiz-dspy-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "true"
os.environ["DSPY_CACHEDIR"] = _CACHE

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from dspy_world import World  # noqa: E402


@pytest.fixture
def world() -> Iterator[World]:
    """The fake task on a loopback server, with DSPy configured to use it."""
    with World() as w:
        yield w
