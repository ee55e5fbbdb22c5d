"""Run a coroutine to completion from synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` and return its result, whatever the calling thread's event-loop situation.

    Without a running loop in this thread (a script, a worker thread) it uses ``asyncio.run``.
    Inside a running loop (a notebook, an async application) it runs the coroutine on a fresh
    loop in a helper thread and blocks the caller until it is done; async code should await the
    ``a``-prefixed method instead, which does not block the loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
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
