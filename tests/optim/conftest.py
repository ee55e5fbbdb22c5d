"""Puts this folder on the path, so that the user-method example module is importable (as
``--import-mode=importlib`` does not)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
