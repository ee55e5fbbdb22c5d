"""``RobustInstructionOptimizer``: a DSPy optimizer that picks the instruction with the best
worst case over groups of the valset (DRO-InstructZero's criterion), by droiz's search."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import dspy
import torch
from dspy.teleprompt import Teleprompter
from dspy.utils.exceptions import AdapterParseError
from dspy.utils.parallelizer import ParallelExecutor

from droiz.ambiguity import AmbiguitySet, parse_ambiguity
from droiz.exceptions import ConfigError, UnknownNameError
from droiz.integrations.dspy.groups import (
    GroupBy,
    check_group_by,
    cluster_labels,
    labels_of,
)
from droiz.integrations.dspy.journal import ScoreJournal, digest
from droiz.integrations.dspy.metered import Meter, metered
from droiz.integrations.dspy.propose import propose
from droiz.integrations.dspy.result import CandidateResult, RobustCompileResult
from droiz.llm.budget import Budget, BudgetExceeded, Limits
from droiz.llm.ledger import LEDGER_NAME, read_ledger
from droiz.llm.stats import PriceTable, Pricing, find_pricing
from droiz.optim import RobustBO
from droiz.optim.methods import METHODS
from droiz.optim.proposal import Proposal
from droiz.runner.store.atomic import write_json
from droiz.runner.store.rundir import RunLock
from droiz.tasks import group_accuracy

logger = logging.getLogger(__name__)

RESULT_NAME = "result.json"


class RobustInstructionOptimizer(Teleprompter):  # type: ignore[misc]  # dspy: no type hints
    """Chooses a predictor's instruction by its worst case over groups of the valset.

    Each candidate instruction is evaluated by running the program (with DSPy's own LM and
    adapter) on the examples of some groups and scoring each answer with ``metric``; droiz's
    search (the method ``method``: a GP per group, an acquisition maximised over the candidates)
    decides which candidate to evaluate next and on which groups, and picks the one whose worst
    case over the ambiguity set around the groups is best.

    Args:
        metric: ``metric(example, prediction, trace=None) -> float | bool``, as for DSPy's
            ``Evaluate``.
        group_by: The group of each valset example: an example field name, a callable
            ``example -> label``, or ``"clusters:K"`` (k-means on the inputs' MiniLM sentence
            embeddings, K clusters ``c0``... by decreasing size; needs ``droiz[semantic]``).
        ambiguity: The ambiguity set around the groups' weights (``"kl:0.1"``, ``"cvar:0.5"``,
            ... or a :class:`~droiz.ambiguity.AmbiguitySet`).
        budget: Evaluations: one is a candidate on the groups of one evaluation
            (``groups_per_round`` of them), as in ``droiz optimize``.
        candidates: Candidate instructions (the program's own instruction is always one).
        proposer_lm: A DSPy LM that proposes ``n_proposals`` more, each from
            ``demos_per_proposal`` training examples (APE's template).
        method: A droiz method (``"dro"``, ``"hybrid"``, ``"ucb"``, ``"ei"``, ``"random"``, ...).
        seed: Seed of the search, the proposals' demos and the clusters.
        out: A directory journaling every evaluation: a second ``compile`` with the same ``out``
            resumes, sending no request for what was done (the caps then count both).
        max_requests, max_tokens, max_cost: Hard caps on what the program's LMs and the proposer
            send, every attempt counted (retries, the adapter's fallbacks). At a cap the search
            stops and the best so far is returned. ``max_tokens`` and ``max_cost`` need each LM's
            ``max_tokens``; ``max_cost`` needs ``prices``.
        prices: ``{model: (USD per 1M input tokens, per 1M output tokens)}`` (the model as in
            ``dspy.LM``, with or without its ``provider/``), or one
            :class:`~droiz.llm.stats.Pricing` for all.
        predictor: The predictor whose instruction is chosen (a name from
            ``program.named_predictors()``; default: the only or the first).
        groups_per_round: Groups each evaluation observes. n_init: Evaluations of the initial
            design (default: one per candidate, at most half the budget).
        num_threads: Examples run in parallel (DSPy's ``ParallelExecutor``).

    After :meth:`compile`, :attr:`result` holds a
    :class:`~droiz.integrations.dspy.result.RobustCompileResult`.
    """

    def __init__(
        self,
        metric: Callable[..., Any],
        *,
        group_by: GroupBy,
        ambiguity: str | AmbiguitySet = "kl:0.1",
        budget: int,
        candidates: Sequence[str] | None = None,
        proposer_lm: Any = None,
        method: str = "dro",
        seed: int = 0,
        out: str | os.PathLike[str] | None = None,
        max_requests: int | None = None,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        prices: PriceTable | Pricing | None = None,
        predictor: str | None = None,
        n_proposals: int = 5,
        demos_per_proposal: int = 5,
        groups_per_round: int = 2,
        n_init: int | None = None,
        num_threads: int = 1,
    ) -> None:
        super().__init__()
        if not callable(metric):
            raise TypeError(
                "metric must be a callable metric(example, prediction, trace=None), got "
                f"{type(metric).__name__}"
            )
        self.metric = metric
        self.group_by = check_group_by(group_by)
        self.ambiguity = _check_ambiguity(ambiguity)
        self.budget = _positive_int("budget", budget)
        self.candidates = _check_candidates(candidates)
        if proposer_lm is not None and not isinstance(proposer_lm, dspy.BaseLM):
            raise TypeError(
                f"proposer_lm must be a DSPy LM such as dspy.LM('openai/MODEL'), got "
                f"{type(proposer_lm).__name__}"
            )
        self.proposer_lm = proposer_lm
        if method not in METHODS:
            try:
                METHODS.get(method)
            except UnknownNameError as exc:
                raise ConfigError(str(exc)) from None
        self.method = method
        self.seed = _int("seed", seed)
        if out is not None and not isinstance(out, str | os.PathLike):
            raise TypeError(f"out must be a directory path, got {type(out).__name__}")
        self.out = None if out is None else Path(out)
        self.limits = Limits(
            _optional_positive_int("max_requests", max_requests),
            _optional_positive_int("max_tokens", max_tokens),
            _check_cost(max_cost),
        )
        self.prices = _check_prices(prices)
        if predictor is not None and not isinstance(predictor, str):
            raise TypeError(f"predictor must be a predictor's name, got {predictor!r}")
        self.predictor = predictor
        self.n_proposals = _positive_int("n_proposals", n_proposals)
        self.demos_per_proposal = _positive_int("demos_per_proposal", demos_per_proposal)
        self.groups_per_round = _positive_int("groups_per_round", groups_per_round)
        self.n_init = _optional_positive_int("n_init", n_init)
        self.num_threads = _positive_int("num_threads", num_threads)
        self.result: RobustCompileResult | None = None

    # ------------------------------------------------------------- compile
    def compile(
        self,
        student: dspy.Module,
        *,
        trainset: Sequence[dspy.Example],
        teacher: dspy.Module | None = None,
        valset: Sequence[dspy.Example] | None = None,
        **kwargs: Any,
    ) -> dspy.Module:
        """A copy of ``student`` whose predictor's instruction was chosen robustly.

        ``trainset`` supplies the proposer's demos; ``valset`` (default: ``trainset``) is what
        the candidates are scored on, group by group. ``student`` is not modified. Every
        argument is checked before the first request.
        """
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword arguments {sorted(kwargs)}")
        if not isinstance(student, dspy.Module):
            raise TypeError(f"student must be a dspy.Module, got {type(student).__name__}")
        if teacher is not None:
            raise TypeError(
                "teacher= is not used: RobustInstructionOptimizer chooses instructions, not demos"
            )
        trainset = _check_examples("trainset", trainset, allow_empty=self.proposer_lm is None)
        valset = trainset if valset is None else _check_examples("valset", valset)
        if not valset:
            raise ConfigError("valset is empty (and so is trainset); give examples to score on")
        name, current = self._predictor(student)
        candidates = [(current, "current")]
        candidates += [(c, "given") for c in self.candidates if c != current]
        if len(candidates) < 2 and self.proposer_lm is None:
            raise ConfigError(
                "nothing to choose from: pass candidates=[...] (instructions other than the "
                "program's own) or proposer_lm= to propose some"
            )
        lms = self._lms(student)
        labels = labels_of(self.group_by, valset)
        with ExitStack() as stack:
            journal = None
            if self.out is not None:
                stack.enter_context(RunLock(self.out))
                journal = ScoreJournal(self.out)
                stack.callback(journal.close)
            budget = self._budget()
            stack.callback(budget.close_ledger)
            meter = Meter(budget, self._pricing, bound_tokens=self._bounds_tokens())
            if labels is None:
                labels = cluster_labels(str(self.group_by), valset, seed=self.seed, journal=journal)
            run = _Run(self, student, name, valset, labels, meter, journal, lms)
            start = budget.requests
            stopped: str | None = None
            try:
                if self.proposer_lm is not None:
                    proposed = self._propose(trainset, run.metered[id(self.proposer_lm)], journal)
                    known = {c for c, _ in candidates}
                    fresh = [p for p in dict.fromkeys(proposed) if p not in known]
                    candidates += [(p, "proposed") for p in fresh]
                run.candidates = [c for c, _ in candidates]
                stopped = run.search()
            except BudgetExceeded as exc:  # before any evaluation: while proposing
                stopped, run.error = exc.cap, exc
            result = run.finish(candidates, stopped, budget.requests - start, budget.requests)
            if self.out is not None:
                write_json(self.out / RESULT_NAME, result.to_dict())
        self.result = result
        return run.program(result.instruction, metered_lms=False)

    # ------------------------------------------------------------- helpers
    def _predictor(self, student: dspy.Module) -> tuple[str, str]:
        named = list(student.named_predictors())
        if not named:
            raise ConfigError("the program has no predictor (dspy.Predict) to optimise")
        names = [n for n, _ in named]
        if self.predictor is None:
            name, pred = named[0]
        elif self.predictor in names:
            name, pred = named[names.index(self.predictor)]
        else:
            raise ConfigError(
                f"predictor={self.predictor!r} is not a predictor of the program; its "
                f"predictors: {', '.join(names)}"
            )
        return name, str(pred.signature.instructions)

    def _lms(self, student: dspy.Module) -> list[Any]:
        """The LMs the program calls (each predictor's own, else DSPy's configured one)."""
        lms: list[Any] = []
        for pname, pred in student.named_predictors():
            lm = pred.lm or dspy.settings.lm
            if lm is None:
                raise ConfigError(
                    f"predictor {pname!r} has no LM: configure one with "
                    "dspy.configure(lm=dspy.LM(...)) or set it on the predictor"
                )
            if not isinstance(lm, dspy.BaseLM):
                raise TypeError(f"predictor {pname!r}'s LM is not a dspy.BaseLM: {lm!r}")
            if all(lm is not seen for seen in lms):
                lms.append(lm)
        if self.proposer_lm is not None:
            lms.append(self.proposer_lm)
        for lm in lms:
            self._check_lm(lm)
        return lms

    def _check_lm(self, lm: Any) -> None:
        if self._bounds_tokens() and not (
            lm.kwargs.get("max_tokens") or lm.kwargs.get("max_completion_tokens")
        ):
            cap = "max_cost" if self.limits.max_cost is not None else "max_tokens"
            raise ConfigError(
                f"{cap} needs a bound on each answer, but the LM {lm.model!r} has none: create "
                "it with dspy.LM(..., max_tokens=N)"
            )
        if self.limits.max_cost is not None and self._pricing(lm.model) is None:
            raise ConfigError(
                f"max_cost needs the price of {lm.model!r}: pass prices={{{lm.model!r}: "
                "(usd_per_1m_input_tokens, usd_per_1m_output_tokens)}"
            )

    def _bounds_tokens(self) -> bool:
        return self.limits.max_tokens is not None or self.limits.max_cost is not None

    def _pricing(self, model: str) -> Pricing | None:
        if isinstance(self.prices, Pricing):
            return self.prices
        for name in (model, model.split("/", 1)[-1]):
            pricing = find_pricing(name, self.prices)
            if pricing is not None:
                return pricing
        return None

    def _budget(self) -> Budget:
        """The caps, with what earlier ``compile`` calls on ``out`` spent (its ledger)."""
        if self.out is None:
            return Budget(self.limits)
        ledger = self.out / LEDGER_NAME
        reading = read_ledger(ledger)
        requests, tokens, cost = (0, 0, 0.0) if reading is None else reading.spent
        budget = Budget(self.limits, requests=requests, tokens=tokens, cost=cost)
        budget.open_ledger(ledger)
        return budget

    def _propose(
        self, trainset: Sequence[dspy.Example], lm: Any, journal: ScoreJournal | None
    ) -> list[str]:
        return propose(
            lm,
            trainset,
            n=self.n_proposals,
            demos=self.demos_per_proposal,
            seed=self.seed,
            journal=journal,
            identity={"lm": lm_identity(self.proposer_lm), "adapter": _adapter_name()},
        )


class _Run:
    """One ``compile``: the program per candidate, the evaluations, the search, the result."""

    def __init__(
        self,
        opt: RobustInstructionOptimizer,
        student: dspy.Module,
        predictor: str,
        valset: Sequence[dspy.Example],
        labels: list[str],
        meter: Meter,
        journal: ScoreJournal | None,
        lms: list[Any],
    ) -> None:
        self.opt, self.student, self.predictor = opt, student, predictor
        self.valset, self.labels = list(valset), labels
        self.groups = sorted(set(labels))
        self.meter, self.journal = meter, journal
        self.metered = {id(lm): metered(lm, meter) for lm in lms}
        self.candidates: list[str] = []
        self.means: dict[int, dict[str, float]] = {}
        self.search_state: RobustBO | None = None
        self.error: BudgetExceeded | None = None
        self.examples = [
            digest({"fields": ex.toDict(), "inputs": sorted(ex.inputs().keys())}) for ex in valset
        ]
        self.context = {
            "lm": lm_identity(dspy.settings.lm) if dspy.settings.lm is not None else None,
            "adapter": _adapter_name(),
            "metric": _qualname(opt.metric),
            "program": _qualname(student),
        }

    def program(self, instruction: str, *, metered_lms: bool = True) -> dspy.Module:
        """A copy of the student with ``instruction`` (and, for evaluation, metered LMs)."""
        program = self.student.deepcopy()
        pred = dict(program.named_predictors())[self.predictor]
        pred.signature = pred.signature.with_instructions(instruction)
        if metered_lms:
            for p in program.predictors():
                if p.lm is not None:
                    p.lm = self.metered.get(id(p.lm)) or metered(p.lm, self.meter)
        return program

    def _program_key(self, instruction: str) -> dict[str, Any]:
        program = self.program(instruction, metered_lms=False)
        state = {
            name: {
                "signature": repr(p.signature),
                "demos": p.dump_state().get("demos"),
                "lm": lm_identity(p.lm) if p.lm is not None else None,
            }
            for name, p in program.named_predictors()
        }
        return {**self.context, "predictors": state}

    def search(self) -> str | None:
        """Run the search to its end or to a cap; the cap's name, or ``None``.

        The search is :class:`~droiz.optim.RobustBO` over the candidates (one-hot features:
        each candidate a corner of the box, exchangeable a priori), one evaluation a round."""
        opt, n = self.opt, len(self.candidates)
        search = RobustBO(
            n_groups=len(self.groups),
            method=opt.method,
            ambiguity=opt.ambiguity,
            budget=opt.budget,
            seed=opt.seed,
            candidates=torch.eye(n, dtype=torch.float64) * 2 - 1,
            n_init=opt.n_init or max(1, min(n, opt.budget // 2)),
            batch_size=1,
            groups_per_round=opt.groups_per_round,
        )
        self.search_state = search
        while not search.stop():
            ask = search.ask()
            rows: list[list[float]] = []
            try:
                for candidate, groups in _evaluations(ask):
                    means = self.evaluate(candidate, [self.groups[g] for g in groups])
                    rows.append([means.get(g, math.nan) for g in self.groups])
            except BudgetExceeded as exc:
                self.error = exc
            if rows:
                done = ask[: len(rows)]
                search.tell(done, torch.tensor(rows, dtype=torch.float64))
                first = search.n_evaluations - len(rows) + 1
                for k, ((c, groups), row) in enumerate(zip(_evaluations(done), rows, strict=True)):
                    self._log(first + k, c, groups, row)
            if self.error is not None:
                return self.error.cap
        return None

    def _log(self, n: int, candidate: int, told: list[int], row: list[float]) -> None:
        groups = {self.groups[g]: row[g] for g in told}
        self.means.setdefault(candidate, {}).update(groups)
        if self.journal is not None:
            self.journal.append(
                {"type": "evaluation", "n": n, "candidate": candidate, "groups": groups}
            )
        shown = ", ".join(f"{g} {v:.3f}" for g, v in groups.items())
        logger.info("evaluation %d/%d: candidate %d: %s", n, self.opt.budget, candidate, shown)

    def evaluate(self, candidate: int, groups: list[str]) -> dict[str, float]:
        """Mean metric score of each group's examples with the candidate's instruction (scores
        journaled are reused; the others are run, then journaled one by one)."""
        instruction = self.candidates[candidate]
        base = self._program_key(instruction)
        items = [i for i, label in enumerate(self.labels) if label in groups]
        keys = {i: digest({**base, "example": self.examples[i]}) for i in items}
        scores: dict[int, float] = {}
        todo = []
        for i in items:
            record = self.journal.get("score", keys[i]) if self.journal else None
            if record is None:
                todo.append(i)
            else:
                scores[i] = float(record["score"])
        if todo:
            program = self.program(instruction)
            default_lm = self.metered.get(id(dspy.settings.lm))

            def run_one(i: int) -> tuple[int, float | BaseException]:
                self.meter.take_refusal()
                try:
                    with dspy.context(lm=default_lm):
                        score = _score(self.opt.metric, self.valset[i], program, i)
                except Exception as exc:
                    return i, exc
                refusal = self.meter.take_refusal()
                if refusal is not None:  # the program caught the cap: its answer is not real
                    return i, refusal
                if self.journal is not None:
                    record = {"type": "score", "key": keys[i], "candidate": candidate}
                    self.journal.append({**record, "group": self.labels[i], "score": score})
                return i, score

            executor = ParallelExecutor(
                num_threads=self.opt.num_threads,
                max_errors=len(todo) + 1,
                disable_progress_bar=True,
                timeout=0,  # no straggler resubmission: it would pay for an answer twice
            )
            failures = []
            for i, outcome in executor.execute(run_one, todo):
                if isinstance(outcome, BaseException):
                    failures.append(outcome)
                else:
                    scores[i] = outcome
            if failures:
                caps = [f for f in failures if isinstance(f, BudgetExceeded)]
                raise (caps or failures)[0]
        return group_accuracy([scores[i] for i in items], [self.labels[i] for i in items])

    def finish(
        self,
        candidates: list[tuple[str, str]],
        stopped: str | None,
        requests: int,
        total: int,
    ) -> RobustCompileResult:
        search = self.search_state
        if search is None or search.n_evaluations == 0:
            exc = self.error
            cap = exc.cap if exc else "max_requests"
            raise BudgetExceeded(
                f"{exc}, before the first evaluation finished; raise {cap} (a second compile "
                "with the same out= resumes)",
                cap,
            )
        if stopped is not None:
            n = search.n_evaluations
            logger.warning("%s; returning the best of %d evaluations", self.error, n)
        pick = search.best()
        candidate = int(search.candidate_index(pick.z)[0])
        return RobustCompileResult(
            predictor=self.predictor,
            instruction=self.candidates[candidate],
            candidate=candidate,
            value=pick.value,
            selection=pick.selection,
            groups={g: self.labels.count(g) for g in self.groups},
            candidates=tuple(
                CandidateResult.build(text, source, self.means.get(i, {}), self.groups)
                for i, (text, source) in enumerate(candidates)
            ),
            evaluations=search.n_evaluations,
            stopped=stopped,
            requests=requests,
            total_requests=total,
        )


def _evaluations(ask: Proposal) -> list[tuple[int, list[int]]]:
    """``(candidate, groups)`` of each row of a candidate search's proposal."""
    assert ask.index is not None
    return [
        (int(c), groups.nonzero().flatten().tolist())
        for c, groups in zip(ask.index, ask.groups, strict=True)
    ]


def _score(metric: Callable[..., Any], example: Any, program: dspy.Module, index: int) -> float:
    """The metric's score of the program's answer to one example (0 when the adapter cannot
    parse the LM's answer, as DSPy's ``Evaluate`` scores a failure)."""
    try:
        prediction = program(**example.inputs())
    except AdapterParseError:
        return 0.0
    value = metric(example, prediction)
    if isinstance(value, bool):
        return float(value)
    try:
        score = float(value)
    except (TypeError, ValueError):
        score = math.nan
    if not math.isfinite(score):
        raise TypeError(
            f"the metric returned {value!r} for valset example {index}; return a finite number "
            "or a bool"
        )
    return score


def lm_identity(lm: Any) -> dict[str, Any]:
    """What identifies an LM's answers: its class, model, endpoint and generation settings (no
    key; DSPy's cache switch and retry count left out)."""
    try:
        state = dict(lm.dump_state())
    except Exception:
        state = {"model": getattr(lm, "model", None)}
    for name in ("cache", "num_retries", "api_key"):
        state.pop(name, None)
    return {"class": _qualname(lm), **state}


def _adapter_name() -> str:
    adapter = dspy.settings.adapter
    return _qualname(adapter) if adapter is not None else "dspy.ChatAdapter"


def _qualname(obj: object) -> str:
    target = obj if callable(obj) and hasattr(obj, "__qualname__") else type(obj)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


# ------------------------------------------------------------------ argument checks
def _int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return value


def _positive_int(name: str, value: object) -> int:
    n = _int(name, value)
    if n < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value}")
    return int(n)


def _optional_positive_int(name: str, value: object) -> int | None:
    return None if value is None else _positive_int(name, value)


def _check_cost(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"max_cost must be a number of USD, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"max_cost must be a number of USD > 0, got {value!r}")
    return float(value)


def _check_ambiguity(value: object) -> AmbiguitySet:
    if isinstance(value, AmbiguitySet):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"ambiguity must be a spec such as 'kl:0.1' or an AmbiguitySet, got "
            f"{type(value).__name__}"
        )
    try:
        return parse_ambiguity(value)
    except UnknownNameError as exc:
        raise ConfigError(str(exc)) from None


def _check_candidates(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(
            f"candidates must be a list of instruction strings, got {type(value).__name__}"
        )
    out = []
    for i, c in enumerate(value):
        if not isinstance(c, str):
            raise TypeError(f"candidates[{i}] must be a string, got {type(c).__name__}")
        if not c.strip():
            raise ConfigError(f"candidates[{i}] is empty; give instruction text")
        out.append(c.strip())
    return list(dict.fromkeys(out))


def _check_prices(value: object) -> PriceTable | Pricing | None:
    if value is None or isinstance(value, Pricing):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(
            "prices must be {model: (usd_per_1m_input, usd_per_1m_output)} or a Pricing, got "
            f"{type(value).__name__}"
        )
    for model in value:
        find_pricing(model, value)  # each entry: two numbers >= 0 (ConfigError otherwise)
    return value


def _check_examples(name: str, value: object, *, allow_empty: bool = False) -> list[dspy.Example]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of dspy.Example, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ConfigError(f"{name} is empty; give it dspy.Example objects")
    for i, ex in enumerate(value):
        if not isinstance(ex, dspy.Example):
            raise TypeError(f"{name}[{i}] must be a dspy.Example, got {type(ex).__name__}")
        try:
            ex.inputs()
        except ValueError:
            raise ConfigError(
                f"{name}[{i}] has no input fields; build it with "
                "dspy.Example(...).with_inputs('field', ...)"
            ) from None
    return list(value)
