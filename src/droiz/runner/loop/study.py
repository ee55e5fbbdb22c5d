"""The optimisation loop of ``droiz optimize``: ask, generate, execute, journal, tell.

One round: the engine asks for soft prompts; the generator turns them into instructions (with the
tasks' demos); the round's missing (instruction, group) measurements run on the executor in one
deduplicated batch, each evaluation journaled as soon as it completes; the engine is told the
round, and its state and current pick are journaled. After the budget, the pick is evaluated on
the test split and ``best.json``, ``report.md`` and the plot are written.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from droiz import __version__
from droiz._killpoint import kill_point
from droiz.exceptions import ConfigError
from droiz.llm.base import make_fingerprint
from droiz.optim import RobustBO
from droiz.runner.backends import build_backends, pool_candidates
from droiz.runner.inputs import RunObjects
from droiz.runner.loop.engine_io import (
    engine_config,
    engine_snapshot,
    resumed_engine_config,
    saved_config,
    tell_engine,
)
from droiz.runner.loop.execution import RoundExecution
from droiz.runner.loop.finalize import final_pick, rank_instructions, verification
from droiz.runner.loop.guards import Guard, SigtermAsInterrupt
from droiz.runner.loop.hooks import Progress, ProgressFn, RunHooks, RunView
from droiz.runner.loop.outcomes import Outcome, ScoreColumns, group_mean
from droiz.runner.loop.scoring import score_instances
from droiz.runner.outputs.best import FinalPick, RunBest
from droiz.runner.outputs.report import write_outputs
from droiz.runner.outputs.result import OptimizeResult, result_from
from droiz.runner.outputs.summary import RoundSummary, summarize_round
from droiz.runner.plan import RunPlan, plan_run
from droiz.runner.problem import Problem
from droiz.runner.settings.config import RunConfig
from droiz.runner.store.engine_state import read_engine_state, write_engine_state
from droiz.runner.store.journal import Journal, JournalFile, load_journal
from droiz.runner.store.records import Ask, Resume, Start, Tell, Test, Verified, Verify
from droiz.runner.store.restore import Restored, adopt_ask, restore
from droiz.runner.store.rundir import RunDir
from droiz.runner.store.usage import Spent, resume_spend, usage_delta, usage_sum
from droiz.tasks.clusters import Clusters

logger = logging.getLogger(__name__)


class Study:
    """One run: its problem, engine, backends, journal and run directory, and its round loop.

    Args:
        config: Resolved settings.
        out: The run directory (a path or a :class:`~droiz.runner.store.rundir.RunDir`).
        resume: Continue the run journaled in ``out``.
        progress: Called with :class:`Progress` reports (from the executor's thread too).
        announce: Called once before the first request with the :class:`~droiz.runner.plan.RunPlan`
            of what the run will send at most.
        hooks: Run hooks (a tracker): called at the start, after each round's ``tell`` and at
            the finish (see :mod:`droiz.runner.tracking.hooks`).
        objects: The Python objects of the run's ``python:NAME`` settings (an executor, a
            generator, a metric).

    With ``--groups clusters:K`` the problem's clusters are computed here (loading the
    embedder), or read from the run directory on resume.
    """

    def __init__(
        self,
        config: RunConfig,
        out: str | Path | RunDir,
        *,
        resume: bool = False,
        progress: ProgressFn | None = None,
        announce: Callable[[RunPlan], None] | None = None,
        hooks: Sequence[RunHooks] = (),
        objects: RunObjects | None = None,
    ) -> None:
        self.config, self.resume, self.progress = config, resume, progress
        self.run_dir = out if isinstance(out, RunDir) else RunDir(out)
        self.announce, self.hooks = announce, tuple(hooks)
        self.objects = objects or RunObjects()
        saved = None
        if resume and config.clusters is not None:  # the saved assignment: no embedder
            saved = Clusters.from_dict(self.run_dir.read_clusters())
        self.problem = Problem(config, clusters=saved, metric=self.objects.metric)
        self.demos = self.problem.demos()
        self.columns = ScoreColumns(
            tuple(self.problem.names), tuple(len(d) for d in self.problem.dev)
        )
        self.engine: RobustBO  # a new run's in run(): its candidates' features may need a model
        self.saved: dict[str, Any]
        if resume:  # the journal is checked against it before any backend is built
            self.engine, self.saved = self._make_engine()
        self.state = Restored()
        self.summary: RoundSummary | None = None
        self._done = 0
        self._prior: dict[str, float] = {}
        self._usage0: dict[str, float] = {}
        self._told: list[Outcome] = []
        self._snapshot: dict[str, Any] = {}
        self._completed: list[Outcome] = []  # evaluations of the round in progress
        self._contents: JournalFile | None = None  # the journal as read on resume (once)
        self._spent: Spent | None = None  # what earlier sessions spent (on resume)

    def _make_engine(self) -> tuple[RobustBO, dict[str, Any]]:
        """The engine and the ``config.json`` payload. A resumed run's engine has the
        configuration the run started with; a new run with a pool searches its candidates, whose
        features are computed here (after the cheap checks: it may load the sentence embedder)."""
        config, problem = self.config, self.problem
        if self.resume:
            settings = engine_config(config, problem)
            settings = resumed_engine_config(self.run_dir.read_config(), settings)
        else:
            settings = engine_config(config, problem, pool_candidates(config, self.objects))
        engine = RobustBO(**settings.constructor_kwargs())
        return engine, saved_config(config, problem, engine)

    # ------------------------------------------------------------------ run
    def run(self) -> OptimizeResult:
        """Run (or resume) to the end and write the outputs."""
        if not self.resume:
            self.engine, self.saved = self._make_engine()
        if self.resume:  # the journal is read (once) and checked before any backend is built
            self._prepare()
            kill_point("startup")  # test-only (droiz._killpoint)
        candidates = self.engine.candidates
        features = None if candidates is None else candidates.tolist()
        self.backends = backends = build_backends(self.config, self.objects, features)
        try:
            kill_point("startup")
            with SigtermAsInterrupt() as sigterm:
                self.saved["resolved"]["fingerprints"] = self._fingerprints()
                if self.resume:
                    self._keep_saved_fingerprints()
                else:
                    self._prepare()
                self._preload_budget()
                kill_point("startup")
                self._prior, self._usage0 = dict(self.state.stats), backends.usage()
                if self.announce is not None:
                    done = len(self.state.outcomes) + len(self.state.partial)
                    self.announce(plan_run(self.config, self.problem, backends.cache, done))
                with Journal.open(self.run_dir.journal, self._contents) as journal:
                    kill_point("startup")
                    return self._run(journal, sigterm)
        finally:
            backends.budget.close_ledger()
            backends.close()

    def _run(self, journal: Journal, sigterm: SigtermAsInterrupt) -> OptimizeResult:
        """The rounds and the finish, with the journal open."""
        self.journal = journal
        self.guard = Guard(
            self, self.run_dir, journal, self.backends, self.config.limits(), sigterm
        )
        self.view = RunView(
            self.run_dir,
            self.resume,
            MappingProxyType(copy.deepcopy(self.saved)),
            tuple(self.columns.names),
            lambda: tuple(journal.records),
        )
        try:
            self._start_record()
            kill_point("startup")
            for hook in self.hooks:
                hook.on_start(self.view)
            while not self.engine.done:
                self._guarded_round()
            if "exhausted" in self.engine.stop():
                logger.warning(
                    "every (instruction, group) pair of the pool was observed after %d of the %d "
                    "evaluations of the budget; the run ends here",
                    self.engine.n_evaluations,
                    self.config.budget,
                )
            return self._finish()
        except KeyboardInterrupt as exc:  # between guarded steps: nothing was spent
            self.guard.interrupted(exc)
            raise

    def _preload_budget(self) -> None:
        """Count what earlier sessions spent against the caps: the journal's usage records, the
        counters the last evaluation record saw, or the spend ledger (``budget.jsonl``: what a
        killed session sent after its last journaled evaluation, unsettled requests at their
        worst case), whichever is larger, or the worst case where the ledger is missing or
        damaged (:func:`~droiz.runner.store.usage.resume_spend`); then keep the ledger from here
        on, as the next session."""
        budget, before = self.backends.budget, self._spent
        if before is not None:
            budget.requests, budget.tokens, budget.cost = before.spent
        records = self._contents.records if self._contents is not None else []
        sessions = sum(isinstance(r, Start | Resume) for r in records)
        budget.open_ledger(self.run_dir.ledger, session=sessions + 1)

    def _fingerprints(self) -> dict[str, str]:
        """What identifies the generator, the executor (model content hashes, settings) and the
        scoring (metrics and answer filter; not part of any response cache key)."""
        generator = self.backends.generator
        metrics = self.problem.metric
        scoring = {"metrics": metrics, "answer_filter": self.config.answer_filter}
        return {
            "generator": generator.fingerprint if generator is not None else "",
            "executor": self.backends.executor.fingerprint,
            "scoring": make_fingerprint("score", ",".join(sorted(set(metrics.values()))), scoring),
        }

    def _prepare(self) -> None:
        journal = self.run_dir.journal
        if self.resume:
            if not journal.exists():
                raise ConfigError(f"nothing to resume in {self.run_dir}: it has no {journal.name}")
            self._contents = load_journal(journal)  # the one read of the journal
            saved = read_engine_state(self.run_dir.engine_state)
            self.state = restore(self.engine, self._contents.records, self.columns, saved)
            self.summary = self.state.summaries[-1] if self.state.summaries else None
            self._done = len(self.state.outcomes) + len(self.state.partial)
            self._spent = resume_spend(  # a ledger that cannot count refuses before any backend
                self._contents.records,
                self.state.stats,
                self.state.budget,
                self.run_dir.ledger,
                self.config.limits(),
            )
            return
        if journal.exists():
            raise ConfigError(
                f"{self.run_dir} already holds a run ({journal.name}); pass --resume to continue "
                "it or choose another --out"
            )
        if self.problem.clusters is not None:  # before config.json, which makes it a run
            self.run_dir.write_clusters(self.problem.clusters.to_dict())
        self.run_dir.write_config(self.saved)

    def _keep_saved_fingerprints(self) -> None:
        """A resumed run reports the fingerprints it started with (``best.json`` stays a function
        of the run directory); a change is logged."""
        saved = self.run_dir.read_config()["resolved"].get("fingerprints")
        if saved is None:
            return
        now = self.saved["resolved"]["fingerprints"]
        for role in sorted(set(saved) & set(now)):
            if saved[role] != now[role]:
                logger.warning(
                    "%s fingerprint changed on resume: %s -> %s", role, saved[role], now[role]
                )
        self.saved["resolved"]["fingerprints"] = saved

    def _start_record(self) -> None:
        if self.resume:
            caps = dataclasses.asdict(self.config.limits())
            self.journal.append(Resume(droiz_version=__version__, caps=caps))
        else:
            self.journal.append(Start(droiz_version=__version__, settings=self.saved["settings"]))

    # ---------------------------------------------------- what a guard reads
    @property
    def spend_note(self) -> str:
        """How a missing or damaged spend ledger was counted (``""``: it was not)."""
        return self._spent.note if self._spent is not None else ""

    @property
    def round(self) -> int:
        """The engine's proposals so far (the journal's round numbers)."""
        return self.engine.n_proposals

    @property
    def evaluations_done(self) -> int:
        """Evaluations journaled so far (all sessions)."""
        return self._done

    def total_usage(self) -> dict[str, float]:
        """LLM usage of the whole run: earlier sessions plus this one."""
        return usage_sum(self._prior, usage_delta(self.backends.usage(), self._usage0))

    def best_so_far(self, cap: str) -> RunBest:
        """The best-so-far ``best.json`` of the run stopped at ``cap``."""
        state = self.state
        done = [*state.outcomes, *state.partial.values(), *self._completed]
        return RunBest.of_stopped_run(
            cap,
            self.saved["settings"],
            self.columns.names,
            self.engine,
            state.outcomes,
            done,
            self.summary,
        )

    # ---------------------------------------------------------------- round
    def _guarded_round(self) -> None:
        before = self.backends.usage()
        self.guard(self._round)
        assert self.summary is not None
        tell = Tell(
            round=self.engine.n_proposals,
            summary=self.summary.to_dict(),
            told=[[self.columns.names[k] for k in o.told] for o in self._told],
            engine=self._snapshot,
            stats=usage_delta(self.backends.usage(), before),
        )
        self.journal.append(tell)
        write_engine_state(self.run_dir.engine_state, self.engine)
        for hook in self.hooks:
            hook.on_round(self.view, tell)
        self._report_progress()

    def _round(self) -> None:
        n_before = self.engine.n_evaluations
        ask = self._ask()
        embedder = self.backends.embedder
        texts = ask.instructions
        emb = embedder.embed(texts).tolist() if embedder else [None] * len(texts)
        pending = [[self.columns.names.index(g) for g in row] for row in ask.pending]
        outcomes = [
            Outcome(ask.round, j, n_before + j, ask.z[j], text, pending[j], embedding=e)
            for j, (text, e) in enumerate(zip(texts, emb, strict=True))
        ]
        done = self.state.partial
        todo = [o for o in outcomes if o.slot not in done]
        executor = self.backends.executor
        RoundExecution(self.problem, executor, self.state.book, self._on_done).run(todo)
        self.state.ask, self.state.partial = None, {}
        self._completed = []
        self._tell(sorted([*done.values(), *todo], key=lambda o: o.slot))

    def _ask(self) -> Ask:
        """The round's ``ask`` record: the journal's (resuming a round it holds), or a new one
        (ask the engine, unless it was restored with its proposal open; generate; journal).

        ``engine-state.json`` is written right after the engine asks, before anything else."""
        proposal = self.engine.pending
        if proposal is None:
            proposal = self.engine.ask()
            write_engine_state(self.run_dir.engine_state, self.engine)
        old = self.state.ask
        if old is not None:  # resuming a round: its instructions were journaled (and evaluated)
            if old.z != proposal.z.tolist():
                self.state.not_exact(
                    f"the engine re-asked round {old.round} with other points than the journal "
                    "holds; the journal's are kept"
                )
                adopt_ask(self.engine, old, self.columns)
                write_engine_state(self.run_dir.engine_state, self.engine)
            return old
        weights = self.engine.last_acquisition_weights
        assert self.backends.generator is not None
        instructions = self.backends.generator.generate(proposal.z, self.demos)
        kill_point("generate")
        ask = Ask(
            round=self.engine.n_proposals,
            z=proposal.z.tolist(),
            pending=[
                [self.columns.names[k] for k in row.nonzero().flatten().tolist()]
                for row in proposal.groups
            ],
            instructions=instructions,
            acquisition_weights=None if weights is None else weights.tolist(),
        )
        self.state.partial = {}
        self.journal.append(ask)
        return ask

    def _on_done(self, outcome: Outcome) -> None:
        record = outcome.to_record(self.columns)
        record.budget = self.backends.budget.usage()  # the whole run's, in case this session dies
        self.journal.append(record)
        self._completed.append(outcome)
        self._done += 1
        self._report_progress()

    def _tell(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            o.complete(self.state.book)
        tell_engine(self.engine, outcomes, self.columns)
        self.state.outcomes += outcomes
        self._told = outcomes
        self.summary = summarize_round(self.engine, self.state.outcomes)
        self._snapshot = engine_snapshot(self.engine)  # after the summary's fit: no refit later
        self.state.summaries.append(self.summary)

    def _report_progress(self) -> None:
        if self.progress is None:
            return
        usage = self.total_usage()
        value = self.summary.robust_value if self.summary else None
        report = Progress(
            self.round,
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
        final = self.guard(lambda: self._final_pick(summary))
        if self.state.test is None or self.state.test.index != final.index:
            self.state.test = self.guard(lambda: self._test(final.index))
        self.guard.end()  # also after a finished run's resume record: this session ended too
        self.state.stats = self.total_usage()
        names = self.columns.names
        result = result_from(self.saved, names, self.state, summary, final, self.run_dir.path)
        outputs = write_outputs(self.run_dir, self.saved, result, self.journal.records)
        for hook in self.hooks:
            hook.on_finish(self.view, result, outputs)
        return result

    def _final_pick(self, summary: RoundSummary) -> FinalPick:
        """Verify the top instructions on every group (see :mod:`droiz.runner.loop.finalize`)."""
        m, outcomes, book = self.config.finalists, self.state.outcomes, self.state.book
        if m == 0:
            return final_pick(0, self.engine, outcomes, book, summary)
        ranked = rank_instructions(self.engine, outcomes)[:m]  # ranked once
        finalists = [i for i, _ in ranked]
        todo = verification(finalists, outcomes, book, self.problem.n_groups)
        before = self.backends.usage()
        RoundExecution(self.problem, self.backends.executor, book, self._on_verified).run(todo)
        if todo:
            stats = usage_delta(self.backends.usage(), before)
            self.journal.append(Verified(finalists, stats))
        return final_pick(m, self.engine, outcomes, book, summary, ranked)

    def _on_verified(self, outcome: Outcome) -> None:
        self.journal.append(outcome.to_record(self.columns, Verify))
        kill_point("verify")

    def _test(self, index: int) -> Test:
        outcome = self.state.outcomes[index]
        before = self.backends.usage()
        groups = self.problem.test_instances()
        flat = [inst for insts in groups for inst in insts]
        flat_answers, flat_scores = score_instances(
            self.problem.score, self.backends.executor, outcome.instruction, flat
        )
        scores: dict[str, list[float]] = {}
        answers: dict[str, list[str]] = {}
        start = 0
        for name, insts in zip(self.columns.names, groups, strict=True):
            end = start + len(insts)
            scores[name], answers[name] = flat_scores[start:end], flat_answers[start:end]
            start = end
        report = self.problem.report({g: group_mean(s) for g, s in scores.items()})
        record = Test(
            index=index,
            instruction=outcome.instruction,
            scores=scores,
            answers=answers,
            n_examples={g: len(s) for g, s in scores.items()},
            report=report.to_dict(),
            stats=usage_delta(self.backends.usage(), before),
        )
        self.journal.append(record)
        return record
