"""Test set-up for droiz.ambiguity: makes the helper modules beside this file importable.

pytest runs with ``--import-mode=importlib``, which does not put test directories on ``sys.path``;
the helpers have unique names (``amb_cases``, ``amb_oracle``) so this cannot shadow anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
