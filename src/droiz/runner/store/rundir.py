"""The run directory: path checks, its state (new, empty, a run, something else) and its lock.

A run directory is used by one process at a time. :class:`RunLock` takes an OS lock
(``fcntl.flock``) on ``run.lock`` inside it for the whole run; a second process that opens the
same directory, to start or to resume, is refused at once. The OS drops the lock when its process
dies, so a crashed or killed run never blocks the next ``--resume``.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from droiz.exceptions import ConfigError
from droiz.validate import check_dir_path, check_file_path

__all__ = ["LOCK_NAME", "RunLock", "check_dir_path", "check_file_path", "check_run_dir"]

LOCK_NAME = "run.lock"
RUN_MARKERS = ("config.json", "journal.jsonl")
"""Files whose presence makes a directory a droiz run."""


def holds_run(out: Path) -> bool:
    """Whether ``out`` holds a droiz run."""
    return any((out / name).exists() for name in RUN_MARKERS)


def check_run_dir(out: Path, *, resume: bool) -> None:
    """A new run needs a new or empty directory; a resume needs a directory with a run."""
    if resume:
        if not out.is_dir() or not holds_run(out):
            raise ConfigError(
                f"nothing to resume in --out {str(out)!r}: it holds no droiz run (no config.json "
                "or journal.jsonl); drop --resume to start a new run there"
            )
        return
    if not out.exists():
        return
    if holds_run(out):
        raise ConfigError(
            f"--out {str(out)!r} already holds a run; pass --resume to continue it or choose "
            "another --out"
        )
    others = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise ConfigError(
            f"--out {str(out)!r} is not empty (it holds {shown}); choose a new or empty directory"
        )


class RunLock:
    """An exclusive, non-blocking OS lock on ``out/run.lock`` (the directory is created).

    Raises:
        ConfigError: Another live process holds the lock.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"--out {str(self.out)!r}: cannot create the run directory or its lock file "
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
                f"{str(self.out)!r}; wait for it to finish (or stop it) before starting or "
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
