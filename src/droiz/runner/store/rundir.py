"""The run directory: the name of every file in it, its state (new, empty, a run, something else),
its ``config.json`` and its lock.

A run directory is used by one process at a time. :meth:`RunDir.lock` takes an OS lock
(``fcntl.flock``) on ``run.lock`` inside it for the whole run; a second process that opens the
same directory, to start or to resume, is refused at once. The OS drops the lock when its process
dies, so a crashed or killed run never blocks the next ``--resume``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from droiz.exceptions import ConfigError
from droiz.llm.ledger import LEDGER_NAME
from droiz.runner.store.atomic import write_json
from droiz.runner.store.journal import JournalError


class RunDir:
    """A run directory and the paths of its files.

    Args:
        path: The directory (it need not exist yet).
    """

    CONFIG = "config.json"
    """The settings and what they resolved to (written once, when the run starts)."""
    JOURNAL = "journal.jsonl"
    """The journal (:mod:`droiz.runner.store.journal`)."""
    ENGINE_STATE = "engine-state.json"
    """The engine's latest state (:mod:`droiz.runner.store.engine_state`)."""
    LEDGER = LEDGER_NAME
    """The spend ledger of the caps (:mod:`droiz.llm.ledger`, which defines its format)."""
    BEST = "best.json"
    """The best instruction (:class:`~droiz.runner.outputs.best.RunBest`)."""
    REPORT = "report.md"
    PLOT = "best_so_far.png"
    TRACKING = "tracking.json"
    """Where the run is tracked (tracker, run id, masked URI; :mod:`droiz.runner.tracking`)."""
    LOCK = "run.lock"
    """The lock of the process using the directory (its pid)."""
    CLUSTERS = "clusters.json"
    """The cluster assignment of ``--groups clusters:K`` (:mod:`droiz.tasks.clusters`), so that
    a resume does not depend on the embedder."""
    EXAMPLES = "examples.jsonl"
    """The task of a run given as a list of examples from Python (:func:`droiz.optimize`)."""
    CANDIDATES = "candidates.json"
    """The candidate instructions of a run given as a list from Python (a ``pool:`` file)."""
    MARKERS = (CONFIG, JOURNAL)
    """Files whose presence makes a directory a droiz run."""
    INPUTS = (CLUSTERS, EXAMPLES, CANDIDATES)
    """What a run writes before it starts: a directory holding only these (and the lock) is
    still new, e.g. after a run that was refused once they were written."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------ files
    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def journal(self) -> Path:
        return self.path / self.JOURNAL

    @property
    def engine_state(self) -> Path:
        return self.path / self.ENGINE_STATE

    @property
    def ledger(self) -> Path:
        return self.path / self.LEDGER

    @property
    def best(self) -> Path:
        return self.path / self.BEST

    @property
    def report(self) -> Path:
        return self.path / self.REPORT

    @property
    def plot(self) -> Path:
        return self.path / self.PLOT

    @property
    def tracking(self) -> Path:
        return self.path / self.TRACKING

    @property
    def lock_file(self) -> Path:
        return self.path / self.LOCK

    @property
    def clusters(self) -> Path:
        return self.path / self.CLUSTERS

    @property
    def examples(self) -> Path:
        return self.path / self.EXAMPLES

    @property
    def candidates(self) -> Path:
        return self.path / self.CANDIDATES

    # ------------------------------------------------------------------ state
    @classmethod
    def is_run(cls, names: Collection[str]) -> bool:
        """Whether a directory holding the files ``names`` is a droiz run."""
        return any(name in names for name in cls.MARKERS)

    def holds_run(self) -> bool:
        """Whether the directory holds a droiz run."""
        return any((self.path / name).exists() for name in self.MARKERS)

    def check(self, *, resume: bool) -> None:
        """A new run needs a new or empty directory; a resume needs a directory with a run."""
        out = self.path
        if resume:
            if not out.is_dir() or not self.holds_run():
                raise ConfigError(
                    f"nothing to resume in --out {str(out)!r}: it holds no droiz run (no "
                    f"{self.CONFIG} or {self.JOURNAL}); drop --resume to start a new run there"
                )
            return
        if not out.exists():
            return
        if self.holds_run():
            raise ConfigError(
                f"--out {str(out)!r} already holds a run; pass --resume to continue it or choose "
                "another --out"
            )
        others = sorted(p.name for p in out.iterdir() if p.name not in (self.LOCK, *self.INPUTS))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise ConfigError(
                f"--out {str(out)!r} is not empty (it holds {shown}); choose a new or empty "
                "directory"
            )

    # ----------------------------------------------------------------- config
    def read_config(self) -> dict[str, Any]:
        """The run's ``config.json``.

        Raises:
            JournalError: It is missing, not JSON, or not the configuration of a droiz run.
        """
        path = self.config
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except OSError:
            raise JournalError(
                f"nothing to resume or replay in {self.path}: it has no {self.CONFIG} (is it a "
                "droiz run directory?)"
            ) from None
        except ValueError:  # UnicodeDecodeError included
            raise JournalError(f"{path} is not valid JSON") from None
        parts = ("settings", "resolved")
        if not isinstance(saved, dict) or not all(isinstance(saved.get(k), dict) for k in parts):
            raise JournalError(
                f"{path} is not the configuration of a droiz run (it lacks 'settings' or "
                "'resolved')"
            )
        return saved

    def write_config(self, saved: Mapping[str, Any]) -> None:
        """Create the directory and write ``config.json`` (atomically)."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.config, saved)

    def read_clusters(self) -> dict[str, Any]:
        """The saved cluster assignment (``clusters.json``).

        Raises:
            JournalError: It is missing or not JSON.
        """
        path = self.clusters
        try:
            saved: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return saved
        except OSError:
            raise JournalError(
                f"the run in {self.path} groups its examples by clusters, but its assignment "
                f"{self.CLUSTERS} is missing; the run cannot continue without it"
            ) from None
        except ValueError:
            raise JournalError(f"{path} is not valid JSON") from None

    def write_clusters(self, data: Mapping[str, Any]) -> None:
        """Create the directory and write ``clusters.json`` (atomically)."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.clusters, data)

    # ------------------------------------------------------------------- lock
    def lock(self) -> RunLock:
        """The exclusive lock of the directory (a context manager)."""
        return RunLock(self)

    def is_locked(self) -> bool:
        """Whether a live process holds the run's lock (no lock file: no)."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no locks
            return False
        try:
            fd = os.open(self.lock_file, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)


class RunLock:
    """An exclusive, non-blocking OS lock on the run directory's ``run.lock`` (the directory is
    created).

    Raises:
        ConfigError: Another live process holds the lock.
    """

    def __init__(self, run_dir: RunDir | str | os.PathLike[str]) -> None:
        self.run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        out = self.run_dir.path
        try:
            out.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.run_dir.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"--out {str(out)!r}: cannot create the run directory or its lock file "
                f"({exc.strerror or type(exc).__name__})"
            ) from None
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            self._fd = fd
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"another droiz process (pid {holder}) is using the run directory "
                f"{str(out)!r}; wait for it to finish (or stop it) before starting or "
                "resuming this run, or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
