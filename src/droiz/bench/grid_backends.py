"""Where the cells of ``droiz bench grid`` run: a local process pool (default) or Ray.

Both run :func:`droiz.bench.grid.run_cell` once per cell and report each
:class:`~droiz.bench.grid.CellOutcome` as it arrives. A cell whose worker process dies (killed,
out of memory) is run again, up to :data:`RETRIES` times (the pool is replaced; Ray retries the
cell's task): it resumes from its journal, so the evaluations it journaled are not sent again
(``tests/bench/test_grid_kill.py``, on both backends). The pool uses the ``spawn`` start method
(no forked torch or thread state); Ray (the ``droiz[ray]`` extra) is imported only when asked for.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

from droiz._workers import pool_processes
from droiz.bench.grid import FAILED, LOST, SKIPPED, Cell, CellOutcome, cell_state, run_cell
from droiz.exceptions import ConfigError, MissingDependencyError

BACKENDS = ("pool", "ray")
RETRIES = 2
"""Times a cell whose worker died is run again (Ray's ``max_retries`` of the cell's task)."""
RAY_CONNECT_TIMEOUT = 5.0
"""Seconds :func:`check_ray_address` waits for a connection to the Ray address."""
OnDone = Callable[[CellOutcome], None]
_LOST = f"its worker process died {RETRIES + 1} times; rerun the grid to resume it"


def run_cells(
    cells: Sequence[Cell],
    *,
    backend: str = "pool",
    workers: int = 2,
    ray_address: str | None = None,
    track: str | None = None,
    on_done: OnDone | None = None,
) -> list[CellOutcome]:
    """Run ``cells`` on ``backend``; return their outcomes in the order of ``cells``."""
    check_backend(backend)
    report = on_done or (lambda outcome: None)
    call = functools.partial(run_cell, track=track)
    done: dict[str, CellOutcome] = {}
    for cell in cells:  # finished cells are skipped here, without starting a worker
        if cell_state(Path(cell.run_dir)) == "finished":
            done[cell.name] = CellOutcome(cell.name, SKIPPED)
            report(done[cell.name])
    todo = [c for c in cells if c.name not in done]
    if todo and backend == "ray":
        done |= run_ray(todo, call, report, workers, ray_address)
    elif todo:
        done |= run_pool(todo, call, report, workers)
    return [done[c.name] for c in cells]


def check_backend(backend: str) -> None:
    """A known backend, and Ray importable for ``ray``."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be pool or ray, got {backend!r}")
    if backend == "ray":
        _ray()


def check_ray_address(backend: str, address: str | None) -> None:
    """Something listens at the Ray address (``address``, else ``RAY_ADDRESS``) of the ``ray``
    backend: Ray itself retries an address where nothing listens for minutes, printing its own
    warnings. ``auto``, ``local`` and no address are left to Ray (they fail or start at once)."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if backend != "ray" or address in (None, "auto", "local"):
        return
    where = address.removeprefix("ray://")
    try:
        parts = urlsplit("//" + where)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None or parts.path or "ray://" in where:
        raise ConfigError(
            f"--ray-address must be HOST:PORT (or ray://HOST:PORT, auto), got {address!r}"
        )
    try:
        with socket.create_connection((host, port), timeout=RAY_CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot reach the Ray cluster at {address} ({reason}); start it (ray start --head) "
            "or fix --ray-address (or RAY_ADDRESS)"
        ) from None


def _unexpected(cell: Cell, exc: BaseException) -> CellOutcome:
    text = " ".join(str(exc).split())[:300]
    return CellOutcome(cell.name, FAILED, f"unexpected {type(exc).__name__}: {text}")


def run_pool(
    cells: Sequence[Cell], call: Callable[[Cell], CellOutcome], report: OnDone, workers: int
) -> dict[str, CellOutcome]:
    """The cells on a ``spawn`` process pool of ``workers``, at most ``workers`` in flight; a
    broken pool (a worker died) is replaced and its unfinished cells are run again (at most
    :data:`RETRIES` times)."""
    done: dict[str, CellOutcome] = {}
    todo = list(cells)
    for _attempt in range(RETRIES + 1):
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context)
        try:
            _drain(pool, todo, call, workers, done, report)
        except BaseException:
            _stop_cells(pool)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        todo = [c for c in todo if c.name not in done]
        if not todo:
            break
    for cell in todo:
        done[cell.name] = outcome = CellOutcome(cell.name, LOST, _LOST)
        report(outcome)
    return done


def _stop_cells(pool: ProcessPoolExecutor) -> None:
    """SIGTERM every worker of ``pool``, so that its running cell stops as a run stops on
    SIGTERM (an ``abort`` record; resumable) instead of running to its end: the grid was
    interrupted (Ctrl-C reaches the workers itself; ``kill PID`` only the grid process)."""
    for process in pool_processes(pool):
        if process.is_alive():
            process.terminate()


def _drain(
    pool: ProcessPoolExecutor,
    cells: Sequence[Cell],
    call: Callable[[Cell], CellOutcome],
    workers: int,
    done: dict[str, CellOutcome],
    report: OnDone,
) -> None:
    """Run ``cells`` on ``pool`` with at most ``workers`` in flight (so an interrupted grid has
    no queued cells), until they are done or the pool breaks (a worker died)."""
    queue = iter(cells)
    futures: dict[Future[CellOutcome], Cell] = {}
    broken = False
    while True:
        while not broken and len(futures) < workers:
            cell = next(queue, None)
            if cell is None:
                break
            try:
                futures[pool.submit(call, cell)] = cell
            except BrokenProcessPool:  # a worker died since the last result
                broken = True
        if not futures:
            return
        finished, _ = wait(list(futures), return_when=FIRST_COMPLETED)
        for future in finished:
            cell = futures.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool:
                broken = True  # the rest runs again with a new pool
                continue
            except Exception as exc:
                outcome = _unexpected(cell, exc)
            done[cell.name] = outcome
            report(outcome)


def _died(ray: ModuleType) -> tuple[type[BaseException], ...]:
    """Ray's errors for a task whose worker process or node died (not the cell's own error)."""
    errors = ray.exceptions
    return (errors.WorkerCrashedError, errors.NodeDiedError, errors.OutOfMemoryError,
            errors.LocalRayletDiedError)  # fmt: skip


def _ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "--backend ray needs Ray: pip install 'droiz[ray]' (or pip install ray)"
        ) from None
    return ray


def _ray_cell(cell: Cell, call: Callable[[Cell], CellOutcome]) -> CellOutcome:
    return call(cell)


def run_ray(
    cells: Sequence[Cell],
    call: Callable[[Cell], CellOutcome],
    report: OnDone,
    workers: int,
    address: str | None,
) -> dict[str, CellOutcome]:
    """The cells as Ray tasks, on the cluster at ``address`` (or ``RAY_ADDRESS``), else on a
    local Ray of ``workers`` CPUs bound to 127.0.0.1 with usage stats off. A Ray that is already
    initialised in this process is used as it is."""
    ray = _ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    own = not ray.is_initialized()
    if own:
        if address:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except ConnectionError as exc:  # no cluster for "auto", or it went away
                raise ConfigError(f"--ray-address {address}: {exc}") from None
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(
                address="local",
                num_cpus=min(workers, len(cells)),
                include_dashboard=False,
                log_to_driver=False,
                _node_ip_address="127.0.0.1",
            )
    try:
        task = ray.remote(num_cpus=1, max_retries=RETRIES)(_ray_cell)
        refs = {task.remote(c, call): c for c in cells}
        done: dict[str, CellOutcome] = {}
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                cell = refs[ready[0]]
                try:
                    outcome = ray.get(ready[0])
                except _died(ray) as exc:  # its worker (or node) died RETRIES + 1 times
                    outcome = CellOutcome(cell.name, LOST, f"{_LOST} ({type(exc).__name__})")
                except Exception as exc:  # a RayTaskError: the cell itself raised
                    outcome = _unexpected(cell, exc)
                done[cell.name] = outcome
                report(outcome)
        except BaseException:
            for ref in pending:
                ray.cancel(ref)
            raise
        return done
    finally:
        if own:
            ray.shutdown()
