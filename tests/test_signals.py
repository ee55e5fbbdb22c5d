"""SIGTERM under SigtermAsInterrupt: raised as Terminated in plain code, and inside run_sync's
event loop a cancellation of the batch, however SIGINT is handled."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from droiz._signals import SigtermAsInterrupt, Terminated
from droiz.llm._async import run_sync


def test_sigterm_raises_terminated_in_plain_code() -> None:
    with SigtermAsInterrupt() as sigterm, pytest.raises(KeyboardInterrupt) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000_000):  # the handler runs at the next bytecode boundary
            pass
    assert isinstance(stop.value, Terminated) and sigterm.received


@pytest.mark.parametrize("sigint", [signal.default_int_handler, signal.SIG_IGN])
def test_sigterm_cancels_run_syncs_coroutine_then_raises_terminated(sigint) -> None:
    """The coroutine sees a CancelledError at its await (its requests in flight are cancelled
    cleanly), not an exception raised in whatever code ran; also where SIGINT is ignored, as in
    a command started in the background of a script, where asyncio installs no handler."""
    seen: list[str] = []

    async def batch() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        seen.append("finished")

    previous = signal.signal(signal.SIGINT, sigint)
    try:
        with SigtermAsInterrupt() as sigterm, pytest.raises(KeyboardInterrupt) as stop:
            run_sync(batch())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert isinstance(stop.value, Terminated) and sigterm.received
    assert seen == ["cancelled"]
    assert signal.getsignal(signal.SIGTERM) is not sigterm._on_sigterm  # restored on exit


def test_a_coroutine_that_swallows_the_cancellation_still_ends_in_terminated() -> None:
    async def stubborn() -> str:
        os.kill(os.getpid(), signal.SIGTERM)
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            return "done anyway"
        return "slept"

    with SigtermAsInterrupt(), pytest.raises(KeyboardInterrupt) as stop:
        run_sync(stubborn())
    assert isinstance(stop.value, Terminated)
