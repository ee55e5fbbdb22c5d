"""``droiz.optimize``: the Python entry point of ``droiz optimize``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from droiz.runner.backends import check_backends
from droiz.runner.loop.hooks import ProgressFn
from droiz.runner.loop.study import Study
from droiz.runner.outputs.result import OptimizeResult
from droiz.runner.plan import RunPlan, plan_run
from droiz.runner.settings.config import RunConfig
from droiz.runner.settings.files import resolve_config
from droiz.runner.settings.resume import resume_config
from droiz.runner.store.rundir import RunDir
from droiz.runner.tracking.hooks import Tracker, tracking
from droiz.validate import check_dir_path


def optimize(
    task: str | Sequence[str] | None = None,
    generator: str | None = None,
    executor: str | None = None,
    *,
    out: str | os.PathLike[str],
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
    announce: Callable[[RunPlan], None] | None = None,
    **settings: Any,
) -> OptimizeResult:
    """Optimise an instruction robustly over a task's groups and write a run directory.

    Example:
        >>> result = droiz.optimize(
        ...     task="antonyms", generator="hf:lmsys/vicuna-13b-v1.3",
        ...     executor="openai:gpt-4o-mini", out="runs/antonyms", budget=150, seed=0)
        >>> result.instruction, result.robust_value, result.test.worst_group

    Args:
        task: Task name or file, or several (a list or ``"a,b,c"``): a multi-task run.
        generator: ``hf:PATH``, ``api:MODEL`` or ``pool:FILE``.
        executor: ``openai:MODEL`` (with ``base_url=`` for other endpoints) or ``hf:PATH``.
        out: The run directory (``config.json``, ``journal.jsonl``, ``best.json``, ...).
        config: A JSON/TOML config file, or a mapping of settings; explicit arguments win.
        resume: Continue the run journaled in ``out`` (its saved settings are used; only
            those in :data:`~droiz.runner.settings.config.RESUMABLE` may change: where things
            are, the caps and the tracker).
        progress: Called with :class:`~droiz.runner.loop.hooks.Progress` reports.
        announce: Called once, before the first request, with the
            :class:`~droiz.runner.plan.RunPlan` of what the run sends at most.
        **settings: Any field of :class:`~droiz.runner.settings.config.RunConfig` (``method``,
            ``budget``, ``seed``, ``ambiguity``, ``reference``, ``groups``, ``kernel``, ``n_dev``,
            ``answer_filter`` (``"chat-answer"`` or a list of filter names),
            ``max_answer_tokens``, ``track`` (``"mlflow"``, or a tracker object such as
            :class:`~droiz.runner.tracking.mlflow_tracker.MlflowTracker` with a parent run), ...).

    Returns:
        The :class:`~droiz.runner.outputs.result.OptimizeResult`.

    Raises:
        ConfigError, UnknownNameError, DataError: Bad settings or data (one-line messages).
        RunInterrupted: The executor failed for good; resume with ``resume=True``.
        CapReached: A ``max_requests``, ``max_tokens`` or ``max_cost`` cap stopped the run
            (``best.json`` holds the best so far); resume with a higher cap.
    """
    track = settings.get("track")
    if isinstance(track, Tracker):  # the setting is its name; the object does the logging
        settings["track"] = track.name
    explicit = {"task": task, "generator": generator, "executor": executor, **settings}
    run_dir, resolved = _resolve(out, explicit, config, resume)
    tracker = _make_tracker(track if isinstance(track, Tracker) else resolved.track)
    hooks = [tracker] if tracker is not None else []
    study = Study(
        resolved, run_dir, resume=resume, progress=progress, announce=announce, hooks=hooks
    )
    check_backends(resolved)
    with run_dir.lock(), tracking(tracker):
        run_dir.check(resume=resume)  # again: another process may have started
        return study.run()


def _make_tracker(track: str | Tracker) -> Tracker | None:
    """The tracker of a ``track`` setting (``None`` for ``none``), its dependencies imported
    now, before anything is written or sent (a missing extra raises MissingDependencyError)."""
    if track == "none":
        return None
    if isinstance(track, Tracker):
        tracker = track
    else:
        from droiz.runner.tracking.mlflow_tracker import MlflowTracker

        tracker = MlflowTracker()
    tracker.require()
    return tracker


def dry_run(
    task: str | Sequence[str] | None = None,
    generator: str | None = None,
    executor: str | None = None,
    *,
    out: str | os.PathLike[str],
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    resume: bool = False,
    **settings: Any,
) -> RunPlan:
    """Upper bounds of the requests, tokens and cost of :func:`optimize` with these arguments,
    less what the response cache (and, with ``resume``, the journal) already holds. Sends
    nothing, loads no model and writes nothing (see :mod:`droiz.runner.plan`)."""
    from droiz.llm import ResponseCache
    from droiz.llm.cache import CACHE_FILENAME, default_cache_dir
    from droiz.runner.problem import Problem
    from droiz.runner.store.journal import read_journal
    from droiz.runner.store.records import Eval, Verify

    explicit = {"task": task, "generator": generator, "executor": executor, **settings}
    run_dir, resolved = _resolve(out, explicit, config, resume)
    check_backends(resolved)  # with the prices --max-cost needs
    done = 0
    if resume and run_dir.journal.exists():
        records = read_journal(run_dir.journal)
        done = len({r.index for r in records if isinstance(r, Eval) and not isinstance(r, Verify)})
    problem = Problem(resolved)
    cache_dir = Path(resolved.cache_dir) if resolved.cache_dir else default_cache_dir()
    if not (cache_dir / CACHE_FILENAME).exists():
        return plan_run(resolved, problem, None, done)
    with ResponseCache(cache_dir) as cache:
        return plan_run(resolved, problem, cache, done)


def _resolve(
    out: str | os.PathLike[str],
    explicit: dict[str, Any],
    config: str | os.PathLike[str] | Mapping[str, Any] | None,
    resume: bool,
) -> tuple[RunDir, RunConfig]:
    """The cheap local checks of a run directory and its settings, then the resolved config."""
    run_dir = RunDir(check_dir_path(out, "--out"))
    if resume:
        run_dir.check(resume=True)
        resolved = resume_config(run_dir, explicit, config)
    else:
        resolved = resolve_config(explicit, config)
        run_dir.check(resume=False)
    if resolved.cache_dir is not None:
        check_dir_path(resolved.cache_dir, "--cache-dir")
    return run_dir, resolved
