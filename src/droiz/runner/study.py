"""The optimisation loop of ``droiz optimize``: ask, generate, execute, journal, tell.

One round: the engine asks for soft prompts; the generator turns them into instructions (with the
tasks' demos); the round's missing (instruction, group) measurements run on the executor in one
deduplicated batch, each evaluation journaled as soon as it completes; the engine is told the
round, and its state and current pick are journaled. After the budget, the pick is evaluated on
the test split and ``best.json``, ``report.md`` and the plot are written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz import __version__
from droiz.exceptions import BackendError, ConfigError
from droiz.optim import RobustBO
from droiz.runner.backends import build_backends
from droiz.runner.config import RunConfig
from droiz.runner.engine import engine_config, engine_snapshot, saved_config, tell_engine
from droiz.runner.evaluate import score_instances
from droiz.runner.execution import RoundExecution
from droiz.runner.finalize import final_pick, rank_instructions, verification
from droiz.runner.journal import (
    JOURNAL_NAME,
    JOURNAL_VERSION,
    Journal,
    JournalError,
    read_journal,
    write_json,
)
from droiz.runner.outcomes import Layout, Outcome, group_mean
from droiz.runner.problem import Problem
from droiz.runner.report import write_outputs
from droiz.runner.restore import CONFIG_NAME, Restored, restore, result_from
from droiz.runner.results import (
    FinalPick,
    OptimizeResult,
    RoundSummary,
    summarize_round,
    usage_delta,
    usage_sum,
)

logger = logging.getLogger(__name__)


class RunInterrupted(BackendError):
    """The run stopped on a backend failure; everything paid for is journaled or cached."""


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


class Study:
    """One run: its problem, engine, backends, journal and run directory.

    Args:
        config: Resolved settings.
        out: The run directory.
        resume: Continue the run journaled in ``out``.
        progress: Called with :class:`Progress` reports (from the executor's thread too).
    """

    def __init__(
        self,
        config: RunConfig,
        out: str | Path,
        *,
        resume: bool = False,
        progress: ProgressFn | None = None,
    ) -> None:
        self.config, self.out, self.resume, self.progress = config, Path(out), resume, progress
        self.problem = Problem(config)
        self.demos = self.problem.demos()
        self.layout = Layout(tuple(self.problem.names), tuple(len(d) for d in self.problem.dev))
        self.engine = RobustBO(**engine_config(config, self.problem).constructor_kwargs())
        self.saved = saved_config(config, self.problem, self.engine)
        self.state = Restored()
        self.summary: RoundSummary | None = None
        self._done = 0
        self._prior: dict[str, float] = {}
        self._usage0: dict[str, float] = {}
        self._told: list[Outcome] = []
        self._snapshot: dict[str, Any] = {}

    # ------------------------------------------------------------------ run
    def run(self) -> OptimizeResult:
        """Run (or resume) to the end and write the outputs."""
        if self.resume:  # the journal is read and checked before any backend is built
            self._prepare()
        self.backends = backends = build_backends(self.config)
        try:
            if not self.resume:
                self._prepare()
            self._prior, self._usage0 = dict(self.state.stats), backends.usage()
            with Journal.open(self.out / JOURNAL_NAME) as journal:
                self.journal = journal
                self._start_record()
                while not self.engine.done:
                    self._guarded_round()
                return self._finish()
        finally:
            backends.close()

    def _prepare(self) -> None:
        journal = self.out / JOURNAL_NAME
        if self.resume:
            if not journal.exists():
                raise ConfigError(f"nothing to resume in {self.out}: it has no {JOURNAL_NAME}")
            self.state = restore(self.engine, read_journal(journal), self.layout)
            self.summary = self.state.summaries[-1] if self.state.summaries else None
            self._done = len(self.state.outcomes) + len(self.state.partial)
            return
        if journal.exists():
            raise ConfigError(
                f"{self.out} already holds a run ({JOURNAL_NAME}); pass --resume to continue it "
                "or choose another --out"
            )
        self.out.mkdir(parents=True, exist_ok=True)
        write_json(self.out / CONFIG_NAME, self.saved)

    def _start_record(self) -> None:
        record: dict[str, Any] = {"type": "resume" if self.resume else "start"}
        record.update(version=JOURNAL_VERSION, droiz_version=__version__)
        if not self.resume:
            record["settings"] = self.saved["settings"]
        self.journal.append(record)

    def total_usage(self) -> dict[str, float]:
        """LLM usage of the whole run: earlier sessions plus this one."""
        return usage_sum(self._prior, usage_delta(self.backends.usage(), self._usage0))

    def _guarded(self, step: Callable[[], Any]) -> Any:
        """Run ``step``; on a backend failure or Ctrl-C journal an ``abort`` record and stop."""
        before = self.backends.usage()
        try:
            return step()
        except (BackendError, KeyboardInterrupt) as exc:
            message = str(exc) if isinstance(exc, BackendError) else "interrupted"
            stats = usage_delta(self.backends.usage(), before)
            record = {"type": "abort", "round": self.engine.round, "error": message}
            self.journal.append({**record, "stats": stats})
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise RunInterrupted(
                f"{message}; the {self._done} evaluations done so far are saved in "
                f"{self.out / JOURNAL_NAME} and every answer received is cached; fix the "
                f"problem and continue with: droiz optimize --out {self.out} --resume"
            ) from None

    def _guarded_round(self) -> None:
        before = self.backends.usage()
        self._guarded(self._round)
        assert self.summary is not None
        self.journal.append(
            {
                "type": "tell",
                "round": self.engine.round,
                "summary": self.summary.to_dict(),
                "told": [[self.layout.names[k] for k in o.told] for o in self._told],
                "engine": self._snapshot,
                "stats": usage_delta(self.backends.usage(), before),
            }
        )
        self._report_progress()

    # ---------------------------------------------------------------- round
    def _round(self) -> None:
        n_before = self.engine.n_evaluations
        ask = self._ask()
        self._check_or_write_ask(ask)
        embedder = self.backends.embedder
        texts = ask["instructions"]
        emb = embedder.embed(texts).tolist() if embedder else [None] * len(texts)
        pending = [[self.layout.names.index(g) for g in row] for row in ask["pending"]]
        outcomes = [
            Outcome(ask["round"], j, n_before + j, ask["z"][j], text, pending[j], embedding=e)
            for j, (text, e) in enumerate(zip(texts, emb, strict=True))
        ]
        done = self.state.partial
        todo = [o for o in outcomes if o.slot not in done]
        executor = self.backends.executor
        RoundExecution(self.problem, executor, self.state.book, self._on_done).run(todo)
        self.state.ask, self.state.partial = None, {}
        self._tell(sorted([*done.values(), *todo], key=lambda o: o.slot))

    def _ask(self) -> dict[str, Any]:
        """Ask the engine, generate the instructions; the round's ``ask`` record."""
        old_weights = self.engine.last_acquisition_weights
        z = self.engine.ask()
        weights = self.engine.last_acquisition_weights
        assert self.backends.generator is not None
        instructions = self.backends.generator.generate(z, self.demos)
        return {
            "type": "ask",
            "round": self.engine.round,
            "z": z.tolist(),
            "pending": [
                [self.layout.names[k] for k in row.nonzero().flatten().tolist()]
                for row in self.engine.pending_groups
            ],
            "instructions": instructions,
            "acquisition_weights": None if weights is old_weights else weights.tolist(),
        }

    def _check_or_write_ask(self, ask: dict[str, Any]) -> None:
        old = self.state.ask
        if old is None:
            self.state.partial = {}
            self.journal.append(ask)
        elif old["z"] != ask["z"] or old["instructions"] != ask["instructions"]:
            raise JournalError(
                f"cannot resume round {ask['round']}: the engine or the generator now proposes "
                "other points or instructions than the journal holds (another droiz version or "
                "machine?); start a new run directory"
            )

    def _on_done(self, outcome: Outcome) -> None:
        self.journal.append(outcome.to_record(self.layout))
        self._done += 1
        self._report_progress()

    def _tell(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            o.complete(self.state.book)
        tell_engine(self.engine, outcomes, self.layout)
        self.state.outcomes += outcomes
        self._told = outcomes
        self._snapshot = engine_snapshot(self.engine)
        self.summary = summarize_round(self.engine, self.state.outcomes)
        self.state.summaries.append(self.summary)

    def _report_progress(self) -> None:
        if self.progress is None:
            return
        usage = self.total_usage()
        value = self.summary.robust_value if self.summary else None
        report = Progress(
            self.engine.round,
            self._done,
            self.config.budget,
            value,
            int(usage.get("requests", 0)),
            int(usage.get("cache_hits", 0)),
        )
        self.progress(report)

    # --------------------------------------------------------------- finish
    def _finish(self) -> OptimizeResult:
        summary = self.summary
        assert summary is not None
        final = self._guarded(lambda: self._final_pick(summary))
        if self.state.test is None or self.state.test.get("index") != final.index:
            self.state.test = self._guarded(lambda: self._test(final.index))
        if not self.state.finished:
            self.journal.append({"type": "end"})
        self.state.stats = self.total_usage()
        result = result_from(self.saved, self.layout, self.state, summary, final, self.out)
        write_outputs(self.out, self.saved, result)
        return result

    def _final_pick(self, summary: RoundSummary) -> FinalPick:
        """Verify the top instructions on every group (see :mod:`droiz.runner.finalize`)."""
        m, outcomes, book = self.config.finalists, self.state.outcomes, self.state.book
        if m > 0:
            ranked = [i for i, _ in rank_instructions(self.engine, outcomes)[:m]]
            todo = verification(ranked, outcomes, book, self.problem.n_groups)
            before = self.backends.usage()
            RoundExecution(self.problem, self.backends.executor, book, self._on_verified).run(todo)
            if todo:
                stats = usage_delta(self.backends.usage(), before)
                self.journal.append({"type": "verified", "finalists": ranked, "stats": stats})
        return final_pick(m, self.engine, outcomes, book, summary)

    def _on_verified(self, outcome: Outcome) -> None:
        self.journal.append(outcome.to_record(self.layout) | {"type": "verify"})

    def _test(self, index: int) -> dict[str, Any]:
        outcome = self.state.outcomes[index]
        before = self.backends.usage()
        groups = self.problem.test_instances()
        flat = [inst for insts in groups for inst in insts]
        _, flat_scores = score_instances(
            self.problem.score, self.backends.executor, outcome.instruction, flat
        )
        scores: dict[str, list[float]] = {}
        start = 0
        for name, insts in zip(self.layout.names, groups, strict=True):
            scores[name], start = flat_scores[start : start + len(insts)], start + len(insts)
        report = self.problem.report({g: group_mean(s) for g, s in scores.items()})
        record = {
            "type": "test",
            "index": index,
            "instruction": outcome.instruction,
            "scores": scores,
            "n_examples": {g: len(s) for g, s in scores.items()},
            "report": report.to_dict(),
            "stats": usage_delta(self.backends.usage(), before),
        }
        self.journal.append(record)
        return record
