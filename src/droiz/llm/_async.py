"""Run a coroutine to completion from synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from droiz._signals import LoopTask, Terminated, sigterm_cancels

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` and return its result, whatever the calling thread's event-loop situation.

    Without a running loop in this thread (a script, a worker thread) it runs the coroutine on a
    fresh loop (:func:`_run`). Inside a running loop (a notebook, an async application) it runs
    the coroutine on a fresh loop in a helper thread and blocks the caller until it is done;
    async code should await the ``a``-prefixed method instead, which does not block the loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="droiz-llm-loop", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, where a SIGTERM (under :class:`~droiz._signals.SigtermAsInterrupt`)
    cancels ``coro`` as asyncio does on Ctrl-C; then, however ``coro`` ended, it raises
    :class:`~droiz._signals.Terminated` (what arrived before it stopped is the caller's: an
    executor's ``on_result`` has cached it)."""
    sigterm: list[LoopTask] = []

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None  # a coroutine run by asyncio.run always has its task
        with sigterm_cancels(task) as loop_task:
            sigterm.append(loop_task)
            return await coro

    try:
        result = asyncio.run(main())
    except asyncio.CancelledError:
        if sigterm and sigterm[0].cancelled:
            raise Terminated("terminated (SIGTERM)") from None
        raise
    if sigterm and sigterm[0].cancelled:  # the coroutine finished despite the cancellation
        raise Terminated("terminated (SIGTERM)")
    return result
