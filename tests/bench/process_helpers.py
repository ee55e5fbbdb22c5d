"""Child processes seen through Linux's ``/proc``, for the interrupt tests of ``droiz bench``
(a unique module name; ``conftest.py`` puts this folder on the path)."""

from __future__ import annotations

from pathlib import Path

HAS_PROC = Path("/proc/self/task").is_dir()
"""Whether ``/proc`` is there to read (Linux)."""


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(c) for c in text.split()]


def ended(pid: int) -> bool:
    """Whether ``pid`` no longer runs: gone, or a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    if "State:" not in status:  # exiting: its status is already torn down
        return True
    return "zombie" in status.split("State:")[1].split("\n")[0].lower()
