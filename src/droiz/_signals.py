"""SIGTERM handled as Ctrl-C: :class:`SigtermAsInterrupt` and the :class:`Terminated` it raises.

Importable without torch: the command line enters it first thing, so that a SIGTERM at any
moment of a command (a resume's start-up included) ends it as Ctrl-C does, never with the
default handler.

Inside an event loop that :func:`sigterm_cancels` names (the loop of
:func:`~droiz.llm._async.run_sync`, which sends a batch of requests), SIGTERM cancels the loop's
main task instead of raising in whatever coroutine runs at that moment, so that the requests in
flight are cancelled cleanly; ``run_sync`` then raises :class:`Terminated`. This does not depend
on how SIGINT is handled: a command started in the background of a script runs with SIGINT
ignored, and asyncio then installs no Ctrl-C handler of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the run stopped as on Ctrl-C, with an ``abort`` record."""


class LoopTask:
    """The main task of an event loop that SIGTERM cancels, and whether it did."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task, self.cancelled = task, False

    def cancel(self) -> None:
        if not self.task.done():
            self.task.cancel()
            self.cancelled = True
            self.task.get_loop().call_soon_threadsafe(lambda: None)  # wake a blocked select()


_loop_tasks: list[LoopTask] = []  # innermost last; touched in the main thread only


@contextlib.contextmanager
def sigterm_cancels(task: asyncio.Task[Any]) -> Iterator[LoopTask]:
    """While entered, SIGTERM (under :class:`SigtermAsInterrupt`) cancels ``task`` rather than
    raising; the value's ``cancelled`` says whether it did. In the main thread only; elsewhere
    nothing changes (signal handlers run in the main thread)."""
    entry = LoopTask(task)
    main = threading.current_thread() is threading.main_thread()
    if main:
        _loop_tasks.append(entry)
    try:
        yield entry
    finally:
        if main:
            _loop_tasks.remove(entry)


class SigtermAsInterrupt:
    """While entered, SIGTERM is handled as Ctrl-C (in the main thread only; elsewhere nothing
    changes): it raises :class:`Terminated`, or, inside a loop that :func:`sigterm_cancels`
    names, cancels that loop's main task.

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
        if _loop_tasks:
            _loop_tasks[-1].cancel()
        else:
            raise Terminated("terminated (SIGTERM)")

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
