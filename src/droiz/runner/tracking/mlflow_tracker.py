"""``--track mlflow``: log a run to MLflow (the ``droiz[track]`` extra, imported lazily).

The run logs to the tracking URI MLflow resolves (``MLFLOW_TRACKING_URI``,
``mlflow.set_tracking_uri``, else MLflow's own local default), in the experiment named by
``MLFLOW_EXPERIMENT_ID`` / ``MLFLOW_EXPERIMENT_NAME`` (else the active run's, else MLflow's
default experiment). An active MLflow run of the calling thread becomes the parent run.

What is logged (see ``docs/runner.md``, "Tracking"): the resolved config as params, one step per
round of metrics, the final metrics, and ``config.json``, ``best.json``, ``report.md`` and
``best_so_far.png`` as artifacts. Every value passes :func:`droiz.redact.redact` first, and the
URI is shown only with its credentials masked. ``tracking.json`` in the run directory holds the
MLflow run id: a resumed run continues that MLflow run (rounds it lacks are logged, none twice),
or starts a new one tagged ``droiz.previous_run_id`` when the store no longer has it.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from droiz import __version__
from droiz._imports import require
from droiz.exceptions import ConfigError
from droiz.redact import redact, redact_url
from droiz.runner.store.atomic import write_json
from droiz.runner.store.rundir import RunDir
from droiz.runner.store.usage import with_record
from droiz.runner.tracking.hooks import read_tracking
from droiz.runner.tracking.metrics import (
    final_metrics,
    flat_params,
    journal_rounds,
    round_metrics,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

    from droiz.runner.loop.hooks import RunView
    from droiz.runner.outputs.result import OptimizeResult
    from droiz.runner.store.records import Tell

logger = logging.getLogger(__name__)

_ENV_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",  # droiz does not phone home, nor does MLflow for it
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # its URL line would show credentials
}
_MAX_PARAM = 6000  # MLflow's limit of a parameter value
_BATCH = 100  # MLflow's limit of params or tags per batch
_PROBE = "best_robust_value"  # the metric whose history says which rounds are logged


@dataclass
class MlflowTracker:
    """Run hooks logging to MLflow (picklable until the run starts).

    Attributes:
        parent_run_id: Log as a child of this MLflow run (``None``: of the active run, if any).
        experiment: Experiment name (``None``: MLflow's environment variables or default).
        tags: Extra tags of the MLflow run.
        run_id: The MLflow run, once started.
    """

    name: ClassVar[str] = "mlflow"
    parent_run_id: str | None = None
    experiment: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = field(default=None, init=False)
    _client: Any = field(default=None, init=False, repr=False)  # an MlflowClient once started
    _uri: str = field(default="", init=False, repr=False)
    _broken: bool = field(default=False, init=False, repr=False)
    _usage: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _seen: int = field(default=0, init=False, repr=False)  # journal records added to _usage

    def require(self) -> ModuleType:
        """Import MLflow (telemetry off unless the user set it). Raises
        :class:`~droiz.exceptions.MissingDependencyError` with the install command."""
        for name, value in _ENV_DEFAULTS.items():
            os.environ.setdefault(name, value)
        return require("mlflow", "track")

    def prepare_store(self) -> str:
        """Open the tracking store once, which creates a new sqlite store's tables; returns the
        masked URI. A parent process calls this before starting workers that log to the store at
        once: MLflow's first use of a new sqlite store races when processes start together."""
        mlflow = self.require()
        uri = mlflow.get_tracking_uri()
        mlflow.tracking.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        return redact_url(uri) or ""

    # ------------------------------------------------------------ hooks
    def on_start(self, view: RunView) -> None:
        mlflow = self.require()
        uri = mlflow.get_tracking_uri()
        self._uri = redact_url(uri) or ""  # registers its credentials as secrets
        try:
            self._client = mlflow.tracking.MlflowClient(tracking_uri=uri)
            self._open(view)
            self._catch_up(view)
        except Exception as exc:
            raise ConfigError(
                f"cannot log to MLflow at {self._uri}: {_first_line(exc)}; fix "
                f"MLFLOW_TRACKING_URI or pass --track none, then continue with: droiz optimize "
                f"--out {view.run_dir} --resume"
            ) from None

    def on_round(self, view: RunView, tell: Tell) -> None:
        records = view.records  # only appended to: the new ones are added up
        for record in records[self._seen :]:
            self._usage = with_record(self._usage, record)
        self._seen = len(records)
        usage = dict(self._usage)
        self._guarded(lambda: self._log_round(tell, usage, view.groups))

    def on_finish(self, view: RunView, result: OptimizeResult, outputs: Sequence[Path]) -> None:
        def log() -> None:
            step = result.rounds[-1].round if result.rounds else 0
            history = self._client.get_metric_history(self.run_id, "final/robust_value")
            if not any(m.step == step for m in history):  # not yet (a resumed finished run)
                self._log_metrics(final_metrics(result), step)
            for path in [view.run_dir.config, *outputs]:
                if path.is_file():
                    self._client.log_artifact(self.run_id, str(path))

        self._guarded(log)

    def close(self, error: BaseException | None) -> None:
        if self.run_id is None or self._broken:
            return
        from droiz.runner.loop.guards import CapReached

        status = "FINISHED"
        if isinstance(error, CapReached | KeyboardInterrupt):
            status = "KILLED"
        elif error is not None:
            status = "FAILED"

        def end() -> None:
            if isinstance(error, CapReached):
                self._client.set_tag(self.run_id, "droiz.stopped", f"cap:{error.cap}")
                best = RunDir(error.run_dir).best
                if best.is_file():
                    self._client.log_artifact(self.run_id, str(best))
            self._client.set_terminated(self.run_id, status)

        self._guarded(end)

    # ----------------------------------------------------------- logging
    def _open(self, view: RunView) -> None:
        """Continue the run's MLflow run (resume) or create one; write ``tracking.json``."""
        client, path = self._client, view.run_dir.tracking
        previous = read_tracking(view.run_dir.path) if view.resume else {}
        run = None
        if previous.get("run_id"):
            try:
                run = client.get_run(previous["run_id"])
            except Exception as exc:  # another store, or the run was deleted
                logger.warning(
                    "MLflow run %s is not in %s (%s); logging to a new run",
                    previous["run_id"],
                    self._uri,
                    _first_line(exc),
                )
            if run is not None and run.info.lifecycle_stage != "active":
                run = None
        if run is None:
            run = self._create(view, previous.get("run_id"))
        else:
            client.update_run(run.info.run_id, status="RUNNING")
        self.run_id = run.info.run_id
        self._log_params(view.saved, run.data.params)
        record = {"tracker": "mlflow", "run_id": self.run_id, "tracking_uri": self._uri}
        write_json(path, record | {"experiment_id": run.info.experiment_id})

    def _create(self, view: RunView, previous: str | None) -> Run:
        mlflow, client = self.require(), self._client
        active = mlflow.active_run()
        parent = self.parent_run_id or (active.info.run_id if active else None)
        settings = view.saved["settings"]
        tags = {
            "mlflow.source.name": "droiz optimize",
            "mlflow.source.type": "LOCAL",
            "droiz.version": __version__,
            "droiz.run_dir": str(view.run_dir.path.resolve()),
            "droiz.task": ",".join(settings["task"]),
            "droiz.method": str(settings["method"]),
            "droiz.seed": str(settings["seed"]),
        }
        with contextlib.suppress(KeyError, OSError):  # no user name in this environment
            tags["mlflow.user"] = getpass.getuser()
        if parent:
            tags["mlflow.parentRunId"] = parent
        if previous:
            tags["droiz.previous_run_id"] = previous
        tags |= {str(k): str(v) for k, v in self.tags.items()}
        experiment = self._experiment_id(client, parent, active)
        clean = {k: redact(v) for k, v in tags.items()}
        run: Run = client.create_run(experiment, run_name=view.run_dir.path.name, tags=clean)
        return run

    def _experiment_id(self, client: MlflowClient, parent: str | None, active: Run | None) -> str:
        if parent:
            return str(client.get_run(parent).info.experiment_id)
        name = self.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME")
        if not self.experiment and os.environ.get("MLFLOW_EXPERIMENT_ID"):
            return os.environ["MLFLOW_EXPERIMENT_ID"]
        if name:
            found = client.get_experiment_by_name(name)
            return str(found.experiment_id) if found else str(client.create_experiment(name))
        return str(active.info.experiment_id) if active else "0"

    def _log_params(self, saved: Mapping[str, Any], logged: Mapping[str, str]) -> None:
        """Log the config's params; on resume, a changed (location or cap) setting becomes a
        ``droiz.resumed.KEY`` tag, as MLflow params cannot change."""
        from mlflow.entities import Param, RunTag

        params, tags = [], []
        for key, value in flat_params(saved).items():
            value = redact(value)[:_MAX_PARAM]
            if key not in logged:
                params.append(Param(key, value))
            elif logged[key] != value:
                tags.append(RunTag(f"droiz.resumed.{key}", value))
        for start in range(0, len(params), _BATCH):
            self._client.log_batch(self.run_id, params=params[start : start + _BATCH])
        for start in range(0, len(tags), _BATCH):
            self._client.log_batch(self.run_id, tags=tags[start : start + _BATCH])

    def _catch_up(self, view: RunView) -> None:
        """Log the journal's rounds this MLflow run lacks (a resume, or a new run of an old one)."""
        history = self._client.get_metric_history(self.run_id, _PROBE)
        last = max((m.step for m in history), default=0)
        records = view.records
        for tell, usage in journal_rounds(records):
            if tell.round > last:
                self._log_round(tell, usage, view.groups)
        self._usage = {}  # the running totals on_round continues
        for record in records:
            self._usage = with_record(self._usage, record)
        self._seen = len(records)

    def _log_round(self, tell: Tell, usage: Mapping[str, float], groups: Sequence[str]) -> None:
        self._log_metrics(round_metrics(tell, usage, groups), tell.round)

    def _log_metrics(self, values: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in values.items()]
        self._client.log_batch(self.run_id, metrics=metrics)

    def _guarded(self, step: Callable[[], object]) -> None:
        """Run a logging step; a failure stops tracking for this session (the run goes on, and
        a resume logs what is missing)."""
        if self._broken or self.run_id is None:
            return
        try:
            step()
        except Exception as exc:
            self._broken = True
            logger.warning(
                "MLflow logging to %s failed (%s); the run goes on untracked in this session, "
                "and droiz optimize --resume logs the missing rounds",
                self._uri,
                _first_line(exc),
            )


def _first_line(exc: BaseException) -> str:
    text = redact(str(exc)).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
