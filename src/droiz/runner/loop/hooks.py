"""What a run reports while it runs: :class:`Progress` to a progress callback, and the run hooks
(a tracker) called with a read-only :class:`RunView` at its start, after each round and at its
finish."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from droiz.runner.outputs.result import OptimizeResult
    from droiz.runner.store.records import Record, Tell
    from droiz.runner.store.rundir import RunDir


@dataclass(frozen=True)
class Progress:
    """A progress report, sent after each evaluation and each round.

    Attributes:
        round: Current round. evaluations: Evaluations completed. budget: Total evaluations.
        best_value: Robust value of the current pick (``None`` before the first round ends).
        requests: Requests sent to the executor's model so far (all sessions of the run).
        cache_hits: Queries served by the response cache so far.
    """

    round: int
    evaluations: int
    budget: int
    best_value: float | None
    requests: int
    cache_hits: int


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class RunView:
    """A read-only view of a run in progress, what run hooks see of it.

    Attributes:
        run_dir: The run directory. resume: Whether this session resumed the run.
        saved: The ``config.json`` payload (settings and what they resolved to; read-only).
        groups: The group names, in the run's order.
    """

    run_dir: RunDir
    resume: bool
    saved: Mapping[str, Any]
    groups: tuple[str, ...]
    _records: Callable[[], Sequence[Record]] = field(repr=False)

    @property
    def records(self) -> Sequence[Record]:
        """The journal's records so far, in order (a copy)."""
        return self._records()


class RunHooks(Protocol):
    """What a run calls with its :class:`RunView` (a tracker; see
    :mod:`droiz.runner.tracking.hooks`): at the start (journal open, before the first request),
    after each round's ``tell`` record, and after the outputs are written."""

    def on_start(self, run: RunView) -> None: ...

    def on_round(self, run: RunView, tell: Tell) -> None: ...

    def on_finish(self, run: RunView, result: OptimizeResult, outputs: list[Path]) -> None: ...
