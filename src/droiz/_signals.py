"""SIGTERM handled as Ctrl-C: :class:`SigtermAsInterrupt` and the :class:`Terminated` it raises.

Importable without torch: the command line enters it first thing, so that a SIGTERM at any
moment of a command (a resume's start-up included) ends it as Ctrl-C does, never with the
default handler.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the run stopped as on Ctrl-C, with an ``abort`` record."""


class SigtermAsInterrupt:
    """While entered, SIGTERM is handled as Ctrl-C (in the main thread only; elsewhere nothing
    changes).

    Where Python's own SIGINT handler is in place, SIGTERM raises :class:`Terminated` at once.
    Where another one is (inside the executor's event loop, asyncio's), the handler hands over
    to it, so that asyncio cancels the requests in flight cleanly, as it does on Ctrl-C.

    Attributes:
        received: Whether SIGTERM arrived.
    """

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None

    def __enter__(self) -> SigtermAsInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) and handler is not signal.default_int_handler:
            handler(signal.SIGINT, frame)
        else:
            raise Terminated("terminated (SIGTERM)")

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
