"""How a run stops: a backend failure, Ctrl-C or SIGTERM (an ``abort`` record), or a hard cap
(a ``cap`` record and a best-so-far ``best.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from droiz.exceptions import BackendError


class RunInterrupted(BackendError):
    """The run stopped on a backend failure; everything paid for is journaled or cached."""


class CapReached(RunInterrupted):
    """The run stopped cleanly at a hard cap (``--max-requests``, ``--max-tokens``,
    ``--max-cost``); ``best.json`` holds the best so far and a higher cap resumes it.

    Attributes:
        cap: The cap's name (``max_requests``, ``max_tokens`` or ``max_cost``).
        best: The best-so-far ``best.json`` payload. run_dir: The run directory.
        stats: The LLM usage of the whole run so far.
    """

    def __init__(
        self, message: str, cap: str, best: dict[str, Any], run_dir: Path, stats: dict[str, float]
    ) -> None:
        super().__init__(message)
        self.cap, self.best, self.run_dir, self.stats = cap, best, run_dir, stats


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the run stopped as on Ctrl-C, with an ``abort`` record."""
