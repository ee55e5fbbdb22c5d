"""``droiz.optimize``: the Python entry point of ``droiz optimize``."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from droiz._killpoint import kill_point
from droiz.exceptions import ConfigError
from droiz.runner.backends import check_backends, check_reachable
from droiz.runner.inputs import ExecutorArg, GeneratorArg, MetricArg, RunInputs, TaskArg
from droiz.runner.loop.hooks import ProgressFn
from droiz.runner.loop.study import Study
from droiz.runner.outputs.result import OptimizeResult
from droiz.runner.plan import RunPlan, plan_run
from droiz.runner.problem import check_problem
from droiz.runner.settings.config import RUN_SCHEMA, RunConfig
from droiz.runner.settings.files import resolve_config
from droiz.runner.settings.resume import resume_config
from droiz.runner.store.rundir import RunDir
from droiz.runner.tracking.hooks import Tracker, tracking
from droiz.validate import check_dir_path, claimed


def optimize(
    task: TaskArg | None = None,
    *legacy: str,
    generator: GeneratorArg | None = None,
    executor: ExecutorArg | None = None,
    metric: MetricArg | None = None,
    config: RunConfig | str | os.PathLike[str] | Mapping[str, Any] | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
    announce: Callable[[RunPlan], None] | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    method: str | None = None,
    budget: int | None = None,
    seed: int | None = None,
    ambiguity: str | None = None,
    reference: str | None = None,
    groups: str | None = None,
    groups_per_round: int | None = None,
    group_rule: str | None = None,
    kernel: str | None = None,
    surrogate: str | None = None,
    plugins: tuple[str, ...] | list[str] | str | None = None,
    n_dev: int | None = None,
    n_demos: int | None = None,
    n_test: int | None = None,
    batch_size: int | None = None,
    n_init: int | None = None,
    finalists: int | None = None,
    dim: int | None = None,
    pool_dim: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_namespace: str | None = None,
    concurrency: int | None = None,
    embedder: str | None = None,
    answer_filter: str | list[str] | None = None,
    max_answer_tokens: int | None = None,
    generator_options: dict[str, Any] | None = None,
    executor_options: dict[str, Any] | None = None,
    engine: dict[str, Any] | None = None,
    allow_large_budget: bool | None = None,
    max_requests: int | None = None,
    max_tokens: int | None = None,
    max_cost: float | None = None,
    prices: dict[str, Any] | None = None,
    track: str | Tracker | None = None,
) -> OptimizeResult:
    """Optimise an instruction robustly over a task's groups and write a run directory.

    Example:
        >>> examples = [{"input": "kobalu", "output": "ulabok"}, ...]
        >>> result = droiz.optimize(
        ...     examples, executor=my_llm, generator=["Reverse the word.", "Repeat the word."],
        ...     metric="em", budget=20)
        >>> result.best.instruction, result.best.robust_value, result.best.test.per_group

    Args:
        task: A task name or file, several (a list or ``"a,b,c"``: a multi-task run), or a list
            of examples (dicts with ``input``, ``output`` and optionally ``group``, ``id``,
            ``split``), saved as the run's ``examples.jsonl``. ``None`` on resume.
        generator: ``hf:PATH``, ``api:MODEL`` or ``pool:FILE``; a
            :class:`~droiz.llm.Generator`; or a list of candidate instructions (saved as the
            run's ``candidates.json``, a ``pool:`` file).
        executor: ``openai:MODEL`` (with ``base_url=`` for other endpoints) or ``hf:PATH``; an
            :class:`~droiz.llm.Executor`; or a callable ``list[str] -> list[str]`` (prompts to
            answers), named by its qualified name or :func:`droiz.callable_executor`.
        metric: A metric name (``em``, ``f1``, ``es``, ``contains``, ``mc``), or a callable
            ``(answer, golds) -> float`` in [0, 1] (named as the executor is, or with
            :func:`droiz.callable_metric`). ``None``: the task's.
        config: A :class:`~droiz.runner.settings.config.RunConfig`, a mapping of settings, or a
            JSON/TOML config file; the keyword arguments win.
        out: The run directory (``config.json``, ``journal.jsonl``, ``best.json``, ...);
            ``None``: a new time-stamped folder under ``./droiz-runs/``, printed on stderr.
        resume: Continue the run journaled in ``out`` (its saved settings are used; only
            those in :data:`~droiz.runner.settings.config.RESUMABLE` may change: where things
            are, the caps and the tracker). Objects (a callable executor, ...) are passed again.
        progress: Called with :class:`~droiz.runner.loop.hooks.Progress` reports.
        announce: Called once, before the first request, with the
            :class:`~droiz.runner.plan.RunPlan` of what the run sends at most.
        base_url, ..., track: The settings of ``droiz optimize``, typed as
            :class:`~droiz.runner.settings.config.RunConfig` declares them (``docs/runner.md``
            2.1 lists each with its default); ``None``: not given (the config's value, else the
            default). ``track`` also takes a tracker object, such as an
            :class:`~droiz.runner.tracking.mlflow_tracker.MlflowTracker` with a parent run.

    Returns:
        The :class:`~droiz.runner.outputs.result.OptimizeResult`; its ``best`` is the run's
        :class:`~droiz.runner.outputs.best.RunBest`.

    Raises:
        ConfigError, UnknownNameError, DataError: Bad settings or data (one-line messages).
        RunInterrupted: The executor failed for good; resume with ``resume=True``.
        CapReached: A ``max_requests``, ``max_tokens`` or ``max_cost`` cap stopped the run
            (``best.json`` holds the best so far); resume with a higher cap.
    """
    generator, executor = _legacy(legacy, generator, executor)
    settings = {k: v for k, v in locals().items() if k in _SETTING_NAMES and k not in _INPUT_NAMES}
    if isinstance(track, Tracker):  # the setting is its name; the object does the logging
        settings["track"] = track.name
    run_dir = _run_dir(out, resume)
    inputs = RunInputs.of(run_dir, task, generator, executor, metric)
    explicit = {**inputs.settings, **settings}
    run_dir, resolved = _resolve(run_dir.path, explicit, config, resume)
    kill_point("startup")  # test-only (droiz._killpoint)
    saved = inputs.save(run_dir, resume=resume)
    with claimed(saved):  # a refused run leaves no examples.jsonl or candidates.json behind
        check_backends(resolved, inputs.objects)  # the local checks, before an embedder loads
        tracker = _make_tracker(track if isinstance(track, Tracker) else resolved.track)
        if not resume:  # the tasks are checked and the endpoint reached before an embedder
            check_problem(resolved)  # loads (clusters, a pool's features); a resume loads neither
            check_reachable(resolved, inputs.objects)
        kill_point("startup")
        hooks = [tracker] if tracker is not None else []
        study = Study(
            resolved,
            run_dir,
            resume=resume,
            progress=progress,
            announce=announce,
            hooks=hooks,
            objects=inputs.objects,
        )
    kill_point("startup")
    with run_dir.lock(), tracking(tracker):
        run_dir.check(resume=resume)  # again: another process may have started
        kill_point("startup")
        return study.run()


_INPUT_NAMES = frozenset({"task", "generator", "executor", "metric"})
"""The settings :func:`optimize` takes as values of other kinds too (:mod:`.inputs`)."""
_SETTING_NAMES = frozenset(s.name for s in RUN_SCHEMA)
RUNS_FOLDER = "droiz-runs"
"""Where :func:`optimize` writes a run given no ``out``."""


def _legacy(
    legacy: tuple[str, ...], generator: GeneratorArg | None, executor: ExecutorArg | None
) -> tuple[GeneratorArg | None, ExecutorArg | None]:
    """``optimize(task, generator, executor, ...)``, the positional form of droiz 0.1: still
    accepted, with a :class:`DeprecationWarning`."""
    if not legacy:
        return generator, executor
    if len(legacy) > 2:
        count = 1 + len(legacy)
        raise TypeError(f"optimize() takes at most 3 positional arguments ({count} given)")
    warnings.warn(
        "pass the generator and the executor by keyword: droiz.optimize(task, generator=..., "
        "executor=...); the positional form will be removed",
        DeprecationWarning,
        stacklevel=3,
    )
    given = dict(zip(("generator", "executor"), legacy, strict=False))
    twice = [k for k in given if {"generator": generator, "executor": executor}[k] is not None]
    if twice:
        raise TypeError(f"optimize() got multiple values for argument {twice[0]!r}")
    return given.get("generator", generator), given.get("executor", executor)


def _run_dir(out: str | os.PathLike[str] | None, resume: bool) -> RunDir:
    """The run directory: ``out``, else a new time-stamped folder under ``./droiz-runs/`` (said
    on stderr)."""
    if out is not None:
        return RunDir(check_dir_path(out, "--out"))
    if resume:
        raise ConfigError("resume=True needs out=, the directory of the run to continue")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = Path(RUNS_FOLDER) / stamp, 1
    while path.exists():
        n += 1
        path = Path(RUNS_FOLDER) / f"{stamp}-{n}"
    print(f"droiz: writing the run to {path}", file=sys.stderr)
    return RunDir(check_dir_path(path, "--out"))


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
    task: TaskArg | None = None,
    generator: GeneratorArg | None = None,
    executor: ExecutorArg | None = None,
    *,
    metric: MetricArg | None = None,
    out: str | os.PathLike[str],
    config: RunConfig | str | os.PathLike[str] | Mapping[str, Any] | None = None,
    resume: bool = False,
    **settings: Any,
) -> RunPlan:
    """Upper bounds of the requests, tokens and cost of :func:`optimize` with these arguments,
    less what the response cache (and, with ``resume``, the journal) already holds. Sends
    nothing and writes nothing in ``out``; it loads no model, but the embedder of a new run with
    ``groups="clusters:K"`` (its clusters make the groups; see :mod:`droiz.runner.plan`).

    ``task``, ``generator``, ``executor`` and ``metric`` take what :func:`optimize` takes:
    names, files and spec strings, or examples, candidate lists, executor objects and callables
    (examples and candidates given as lists are read from a temporary copy). An executor given
    as an object or a callable has no cache key here: its answers count as not cached."""
    from droiz.llm import ResponseCache
    from droiz.llm.cache import CACHE_FILENAME, default_cache_dir
    from droiz.runner.problem import Problem
    from droiz.runner.store.journal import read_journal
    from droiz.runner.store.records import Eval, Verify

    with tempfile.TemporaryDirectory(prefix="droiz-dry-run-") as scratch:
        # a resume's inputs are checked against its saved ones, a new run's read from scratch
        where = RunDir(check_dir_path(out, "--out")) if resume else RunDir(Path(scratch))
        inputs = RunInputs.of(where, task, generator, executor, metric)
        explicit = {**inputs.settings, **settings}
        run_dir, resolved = _resolve(out, explicit, config, resume)
        inputs.save(where, resume=resume)
        check_backends(resolved, inputs.objects)  # with the prices --max-cost needs
        done = 0
        if resume and run_dir.journal.exists():
            records = read_journal(run_dir.journal)
            evals = {r.index for r in records if isinstance(r, Eval) and not isinstance(r, Verify)}
            done = len(evals)
        clusters = None
        if resume and resolved.clusters is not None:
            from droiz.tasks.clusters import Clusters

            clusters = Clusters.from_dict(run_dir.read_clusters())
        problem = Problem(resolved, clusters=clusters)  # a new run's clusters load the embedder
        cache_dir = Path(resolved.cache_dir) if resolved.cache_dir else default_cache_dir()
        if not (cache_dir / CACHE_FILENAME).exists():
            return plan_run(resolved, problem, None, done)
        with ResponseCache(cache_dir) as cache:
            return plan_run(resolved, problem, cache, done)


def _resolve(
    out: str | os.PathLike[str],
    explicit: dict[str, Any],
    config: RunConfig | str | os.PathLike[str] | Mapping[str, Any] | None,
    resume: bool,
) -> tuple[RunDir, RunConfig]:
    """The cheap local checks of a run directory and its settings, then the resolved config."""
    if isinstance(config, RunConfig):  # checked when built; what the keywords set is dropped
        given = {k for k, v in explicit.items() if v is not None}
        config = {k: v for k, v in config.to_dict(redact=False).items() if k not in given}
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
