"""How a run stops: a backend failure, Ctrl-C or SIGTERM (an ``abort`` record), or a hard cap
(a ``cap`` record and a best-so-far ``best.json``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol, TypeVar

from droiz._signals import SigtermAsInterrupt, Terminated
from droiz.exceptions import BackendError
from droiz.llm.budget import BudgetExceeded, Limits
from droiz.redact import redact
from droiz.runner.store.atomic import write_json
from droiz.runner.store.journal import Journal
from droiz.runner.store.records import Abort, Cap, End
from droiz.runner.store.rundir import RunDir
from droiz.runner.store.usage import usage_delta

if TYPE_CHECKING:
    from droiz.runner.backends import Backends
    from droiz.runner.outputs.best import RunBest

T = TypeVar("T")

__all__ = ["CapReached", "Guard", "RunInterrupted", "SigtermAsInterrupt", "Terminated"]


class RunInterrupted(BackendError):
    """The run stopped on a backend failure; everything paid for is journaled or cached."""


class CapReached(RunInterrupted):
    """The run stopped cleanly at a hard cap (``--max-requests``, ``--max-tokens``,
    ``--max-cost``); ``best.json`` holds the best so far and a higher cap resumes it.

    Attributes:
        cap: The cap's name (``max_requests``, ``max_tokens`` or ``max_cost``).
        best: The best-so-far ``best.json`` (a :class:`RunBest` with ``test`` ``None``).
        run_dir: The run directory.
        stats: The LLM usage of the whole run so far.
    """

    def __init__(
        self, message: str, cap: str, best: RunBest, run_dir: Path, stats: dict[str, float]
    ) -> None:
        super().__init__(message)
        self.cap, self.best, self.run_dir, self.stats = cap, best, run_dir, stats


class GuardedRun(Protocol):
    """What a :class:`Guard` reads of the run it guards."""

    @property
    def round(self) -> int:
        """The engine's proposals so far (the journal's round)."""

    @property
    def evaluations_done(self) -> int:
        """Evaluations journaled so far (all sessions)."""

    def best_so_far(self, cap: str) -> RunBest:
        """The best-so-far ``best.json`` of the run stopped at ``cap``."""

    def total_usage(self) -> dict[str, float]:
        """LLM usage of the whole run (all sessions)."""

    @property
    def spend_note(self) -> str:
        """How a missing or damaged spend ledger was counted (``""``: it was not)."""


class Guard:
    """Runs the loop's steps, and turns how one stops into a journal record and an exception.

    Args:
        run: The run (its round, evaluations, best so far and usage).
        run_dir: Its directory. journal: Its open journal. backends: Its LLM back ends (usage
            counters and the caps' budget). limits: Its caps (``max_requests``, ...).
        sigterm: The SIGTERM handler of the session.
    """

    def __init__(
        self,
        run: GuardedRun,
        run_dir: RunDir,
        journal: Journal,
        backends: Backends,
        limits: Limits,
        sigterm: SigtermAsInterrupt,
    ) -> None:
        self.run, self.run_dir, self.journal, self.backends = run, run_dir, journal, backends
        self.limits, self.sigterm = limits, sigterm
        self.aborted = False
        self.ended = False  # the session journaled its ``end`` record

    def end(self) -> None:
        """Journal the ``end`` record: the run is finished, and a Ctrl-C or SIGTERM from here on
        (while the outputs are written) journals no ``abort`` after it."""
        self.journal.append(End())
        self.ended = True

    def __call__(self, step: Callable[[], T]) -> T:
        """Run ``step``; on a backend failure, Ctrl-C or SIGTERM journal an ``abort`` record and
        stop; at a cap journal a ``cap`` record, write the best so far and stop."""
        before = self.backends.usage()
        try:
            return step()
        except BudgetExceeded as exc:
            self._cap_stop(exc, before)
        except (BackendError, KeyboardInterrupt) as exc:
            message = self.abort(exc, usage_delta(self.backends.usage(), before))
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise RunInterrupted(
                f"{message}; the {self.run.evaluations_done} evaluations done so far are saved "
                f"in {self.run_dir.journal} and every answer received is cached; fix the "
                f"problem and continue with: droiz optimize --out {self.run_dir} --resume"
            ) from None

    def interrupted(self, exc: KeyboardInterrupt) -> None:
        """Ctrl-C or SIGTERM between guarded steps (nothing was spent): journal an ``abort``
        record unless a step did or the run has ended; a SIGTERM becomes :class:`Terminated`.
        The caller re-raises ``exc`` otherwise."""
        if not self.aborted and not self.ended:
            self.abort(exc, {})
        if self.sigterm.received and not isinstance(exc, Terminated):
            raise Terminated("terminated (SIGTERM)") from None

    def abort(self, exc: BaseException, stats: dict[str, float]) -> str:
        """Journal an ``abort`` record; returns its message."""
        if isinstance(exc, BackendError):
            message = redact(str(exc))  # executors redact already; a journal never holds a key
        else:
            message = "terminated (SIGTERM)" if self.sigterm.received else "interrupted (SIGINT)"
        self.journal.append(Abort(self.run.round, message, stats))
        self.aborted = True
        return message

    def _cap_stop(self, exc: BudgetExceeded, before: dict[str, float]) -> NoReturn:
        """Journal the ``cap`` record, write the best-so-far ``best.json`` and raise."""
        usage = self.backends.usage()
        self.journal.append(
            Cap(
                round=self.run.round,
                cap=exc.cap,
                error=redact(str(exc)),
                limit=getattr(self.limits, exc.cap),
                used=self.backends.budget.usage(),
                stats=usage_delta(usage, before),
            )
        )
        stats = self.run.total_usage()
        best = self.run.best_so_far(exc.cap)
        write_json(self.run_dir.best, best.to_dict())
        flag = "--" + exc.cap.replace("_", "-")
        note = f" ({self.run.spend_note})" if self.run.spend_note else ""
        raise CapReached(
            f"{exc}{note}; the {self.run.evaluations_done} evaluations done so far are saved in "
            f"{self.run_dir.journal}, the best so far in {self.run_dir.best}; continue "
            f"with a higher cap: droiz optimize --out {self.run_dir} --resume {flag} N",
            exc.cap,
            best,
            self.run_dir.path,
            stats,
        ) from None
