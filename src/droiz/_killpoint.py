"""TEST-ONLY crash points: ``DROIZ_TEST_KILL_AT=point:count`` makes the process SIGKILL itself
(``point:count:TERM``: send itself SIGTERM instead, as a user or a scheduler would).

The crash-safety tests (``tests/runner/test_runner_kill.py``) set it on a ``droiz optimize``
subprocess to kill it at a chosen, deterministic moment: at the ``count``-th time (from 1) the
code passes :func:`kill_point` with that name. Points:

* ``generate``: a round's instructions were generated, nothing about them journaled yet;
* ``answer``: an answer arrived and was cached (in the middle of an evaluation, of the
  verification or of the test evaluation, by the count);
* ``append``: a journal record was appended and fsync'd;
* ``verify``: a finalist's verification record was appended;
* ``startup``: the stages of ``droiz.optimize``'s start-up, before the first request (settings
  resolved, the study built, the back ends checked, the directory locked, a resume's journal
  read, the back ends built, the ledger opened, the journal opened, the start record written).

Without the variable (every real run) :func:`kill_point` does nothing. Never set it outside
tests: the process dies at once, as on a crash.
"""

from __future__ import annotations

import os
import signal
import threading

_SPEC = os.environ.get("DROIZ_TEST_KILL_AT", "")
_POINT, _, _REST = _SPEC.partition(":")
_COUNT, _, _SIGNAL = _REST.partition(":")
_AT = int(_COUNT) if _COUNT.isdigit() else 0
_SIGNUM = signal.SIGTERM if _SIGNAL == "TERM" else signal.SIGKILL
_seen = 0
_lock = threading.Lock()


def kill_point(name: str) -> None:
    """SIGKILL (or SIGTERM) this process the ``count``-th time ``name`` is passed (test-only, see
    above)."""
    global _seen
    if not _AT or name != _POINT:
        return
    with _lock:
        _seen += 1
        if _seen == _AT:
            os.kill(os.getpid(), _SIGNUM)
