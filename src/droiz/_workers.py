"""Worker processes that stop with their parent: :func:`map_workers`.

``ProcessPoolExecutor.map`` submits every job at once, and leaving its ``with`` block on an
exception waits for all of them: a replay or a simulated comparison interrupted by Ctrl-C or
SIGTERM went on for minutes. :func:`map_workers` instead cancels the jobs that have not started
and kills the workers at once. Only for work that is cheap to redo: nothing a worker computed
and did not return is kept.

Signals: Ctrl-C and SIGTERM are blocked while the workers are forked (a Python handler that
raises inside a fork hook is ignored, "Exception ignored in ...", and the interrupt was lost);
they arrive as soon as the forks are done. The workers ignore Ctrl-C (the parent gets it and
kills them) and die on SIGTERM (they inherit the parent's handler, which would raise in a job).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

__all__ = ["map_workers", "pool_processes"]

J = TypeVar("J")
R = TypeVar("R")

_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
_MASK = hasattr(signal, "pthread_sigmask")  # POSIX; elsewhere there is no fork either


def _start(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _MASK:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
    if initializer is not None:
        initializer(*initargs)


def pool_processes(pool: ProcessPoolExecutor) -> list[BaseProcess]:
    """The worker processes of ``pool``, to signal them. Python 3.14 has
    ``ProcessPoolExecutor.terminate_workers()``; before it, the pool's table of processes is the
    only handle on them (read it before ``shutdown()``, which drops it)."""
    return list((pool._processes or {}).values())


def map_workers(
    fn: Callable[[J], R],
    jobs: Iterable[J],
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    chunksize: int = 1,
) -> Iterator[R]:
    """``fn`` over ``jobs`` in ``workers`` processes, results in job order (as
    ``ProcessPoolExecutor.map``); an exception in the caller, Ctrl-C or SIGTERM included, kills
    the workers at once instead of waiting for every job."""
    pool = ProcessPoolExecutor(workers, initializer=_start, initargs=(initializer, initargs))
    try:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS) if _MASK else None
        try:
            results = pool.map(fn, jobs, chunksize=chunksize)  # submits every job: forks
        finally:
            if mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        yield from results
    except BaseException:
        processes = pool_processes(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # SIGKILL: a worker still starting has the parent's handler
            process.kill()
        raise
    pool.shutdown()
