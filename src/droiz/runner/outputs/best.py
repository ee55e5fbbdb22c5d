"""``best.json``: the best instruction of a run, typed and versioned (:class:`RunBest`).

A finished run's ``best.json`` comes from :meth:`RunBest.finished`: the verified final pick
(:class:`FinalPick`, see :mod:`droiz.runner.loop.finalize`) and its journaled test evaluation.
Everything in it is a pure function of the journal and the engine state it restores, so
:func:`~droiz.runner.replay` rebuilds it exactly, and a resumed run writes the same file as an
uninterrupted one (no timings or request counts go into it; those are in ``report.md``).

A run stopped at a cap (``--max-requests`` and friends) has no verified finalists and no test
evaluation yet: :meth:`RunBest.stopped` holds the engine's current pick after the last finished
round, with the robust value the engine estimates for it; before any round finished, the
completed evaluation whose observed groups have the best worst case. ``status`` says it is not
final, ``stopped_by`` names the cap, and ``test`` is ``None``. Resuming with a higher cap
replaces it with the final ``best.json``.

The file carries its format, :data:`BEST_FORMAT`; a file without one (written before the field
existed) is format 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

from droiz.exceptions import DataError
from droiz.runner.outputs.summary import RoundSummary, observed_worst
from droiz.tasks import GroupReport

if TYPE_CHECKING:
    from droiz.optim import RobustBO
    from droiz.runner.loop.outcomes import Outcome
    from droiz.runner.store.records import Test

BEST_FORMAT = 1
"""The ``best.json`` format this droiz writes (and the newest it reads)."""
FINISHED = "finished"
STOPPED_AT_CAP = "stopped at cap"


@dataclass(frozen=True)
class Finalist:
    """A finalist verified on every group: its engine value and measured dev values."""

    instruction: str
    evaluation: int
    model_value: float
    dev_robust: float
    dev_nominal: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finalist:
        return cls(
            str(data["instruction"]),
            int(data["evaluation"]),
            float(data["model_value"]),
            float(data["dev_robust"]),
            float(data["dev_nominal"]),
        )


@dataclass(frozen=True)
class FinalPick:
    """The reported instruction.

    Attributes:
        index: Evaluation number of the pick (its last evaluation).
        criterion: ``robust`` or ``nominal``: how the finalists were compared.
        robust_value: Worst case over the ambiguity set of the pick's dev group means (with
            ``finalists = 0``: the engine's estimate).
        dev: The pick's dev mean of every measured group, by group index.
        weights: The adversary's group weights at the pick.
        finalists: The finalists, best first by the engine (empty with ``finalists = 0``).
    """

    index: int
    criterion: str
    robust_value: float
    dev: dict[int, float]
    weights: list[float]
    finalists: list[Finalist] = field(default_factory=list)


@dataclass(frozen=True)
class EnginePick:
    """The engine's own pick after the last round, by its method's final-pick criterion."""

    evaluation: int
    selection: str
    value: float
    robust_value: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnginePick:
        return cls(
            int(data["evaluation"]),
            str(data["selection"]),
            float(data["value"]),
            float(data["robust_value"]),
        )


@dataclass(frozen=True)
class TestScores:
    """The best instruction's test evaluation: every score of the test split, and its size.

    Attributes:
        report: Per-group, mean, worst-group, shifted-mixture and KL worst-case scores.
        n_examples: Test examples by group.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class when imported
    report: GroupReport
    n_examples: dict[str, int]

    @property
    def per_group(self) -> dict[str, float]:
        return dict(self.report.per_group)

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict() | {"n_examples": dict(self.n_examples)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestScores:
        n = {str(g): int(v) for g, v in dict(data["n_examples"]).items()}
        return cls(GroupReport.from_dict(data), n)


@dataclass(frozen=True)
class RunBest(dict):  # type: ignore[type-arg]  # also the read-only dict of its payload
    """A run's ``best.json``: its best instruction, where it was found, its scores and the run.

    It is also a read-only ``dict`` of the file's content without ``format`` (the payload
    :meth:`to_dict` gives with ``versioned=False``), so that ``best["test"]["per_group"]``,
    ``json.dumps(best)`` and comparisons with a loaded ``best.json`` (less ``format``) work as
    they did when :attr:`OptimizeResult.best <droiz.runner.outputs.result.OptimizeResult.best>`
    was that dict. Two ``RunBest`` compare field by field.

    Attributes:
        instruction: The best instruction (``None``: a run stopped before any evaluation).
        robust_value: Its worst case over the ambiguity set around the final reference weights,
            of its dev group accuracies (stopped at a cap: the engine's estimate, or of the
            observed groups).
        dev: Its dev accuracy by group (the groups it was measured on).
        test: Its test evaluation (``None``: a run stopped at a cap).
        fingerprints: What identifies the ``generator``, the ``executor`` and the ``scoring``
            (empty for a run stopped at a cap).
        method, ambiguity, task, seed, budget, groups, answer_filter: The run's setting.
        criterion: How the pick was chosen: ``robust`` or ``nominal`` (the finalists' measured
            value), ``engine estimate`` or ``observed groups`` (stopped at a cap).
        evaluation, round, z: Where it was found.
        reference: The final reference weights. worst_case_weights: The adversary's weights at
            it; weakest_group: the group with the largest one.
        engine_pick: The engine's own pick. finalists: The finalists verified on every group.
        status: ``finished`` or ``stopped at cap``; stopped_by: the cap (``max_requests``, ...);
            evaluations_done: the evaluations journaled when it stopped.
        format: The format of the file (:data:`BEST_FORMAT`).
    """

    instruction: str | None
    robust_value: float | None
    dev: dict[str, float]
    test: TestScores | None
    fingerprints: dict[str, str]
    method: str
    ambiguity: str
    task: tuple[str, ...]
    seed: int
    budget: int
    groups: tuple[str, ...]
    answer_filter: str | None = None
    criterion: str | None = None
    evaluation: int | None = None
    round: int | None = None
    z: tuple[float, ...] | None = None
    reference: tuple[float, ...] | None = None
    worst_case_weights: tuple[float, ...] | None = None
    weakest_group: str | None = None
    engine_pick: EnginePick | None = None
    finalists: tuple[Finalist, ...] = ()
    status: str = FINISHED
    stopped_by: str | None = None
    evaluations_done: int | None = None
    format: int = BEST_FORMAT

    def __post_init__(self) -> None:
        dict.update(self, self.to_dict(versioned=False))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a RunBest is read-only; use dataclasses.replace or to_dict()")

    # every mutator raises: a deliberate break of dict's signatures, for a read-only dict
    __setitem__ = __delitem__ = __ior__ = _read_only  # type: ignore[assignment]
    update = pop = popitem = clear = setdefault = _read_only  # type: ignore[assignment]

    @property
    def finished(self) -> bool:
        """Whether the run finished (the pick is verified and tested)."""
        return self.status == FINISHED

    # --------------------------------------------------------------- building
    @classmethod
    def of_finished_run(
        cls,
        settings: Mapping[str, Any],
        groups: Sequence[str],
        outcome: Outcome,
        summary: RoundSummary,
        final: FinalPick,
        test: Test,
        fingerprints: Mapping[str, str] | None = None,
    ) -> RunBest:
        """The ``best.json`` of a finished run: ``final`` (the evaluation ``outcome``), the last
        round's ``summary``, the journaled ``test`` record and the saved ``settings``."""
        names = tuple(groups)
        weakest = max(range(len(names)), key=lambda k: final.weights[k])
        return cls(
            instruction=outcome.instruction,
            robust_value=final.robust_value,
            dev={names[k]: v for k, v in sorted(final.dev.items())},
            test=TestScores(GroupReport.from_dict(test.report), dict(test.n_examples)),
            fingerprints=dict(fingerprints or {}),
            answer_filter=settings.get("answer_filter"),
            criterion=final.criterion,
            evaluation=outcome.index,
            round=outcome.round,
            z=tuple(outcome.z),
            reference=tuple(summary.reference),
            worst_case_weights=tuple(final.weights),
            weakest_group=names[weakest],
            engine_pick=EnginePick(
                summary.index, summary.selection, summary.value, summary.robust_value
            ),
            finalists=tuple(final.finalists),
            **_setting(settings, names),
        )

    @classmethod
    def of_stopped_run(
        cls,
        cap: str,
        settings: Mapping[str, Any],
        groups: Sequence[str],
        engine: RobustBO,
        told: Sequence[Outcome],
        done: Sequence[Outcome],
        summary: RoundSummary | None,
    ) -> RunBest:
        """The best-so-far ``best.json`` of a run stopped at ``cap``.

        Args:
            engine: The run's engine (its ambiguity set and reference weights).
            told: The evaluations of the finished rounds (``summary.index`` indexes them).
            done: Every completed evaluation (``told`` and those of the unfinished round).
            summary: The engine's pick after the last finished round (``None``: none yet).
        """
        names = tuple(groups)
        base = cls(
            instruction=None,
            robust_value=None,
            dev={},
            test=None,
            fingerprints={},
            status=STOPPED_AT_CAP,
            stopped_by=cap,
            evaluations_done=len({o.index for o in done}),
            **_setting(settings, names),
        )
        if summary is not None:
            pick = told[summary.index]
            return _with_pick(base, pick, summary.robust_value, "engine estimate", names, summary)
        scored = [(observed_worst(engine, o)[0], -o.index, o) for o in done if o.scores]
        if not scored:
            return base
        value, _, pick = max(scored, key=lambda t: (t[0], t[1]))
        return _with_pick(base, pick, value, "observed groups", names)

    # ------------------------------------------------------------------ JSON
    def to_dict(self, *, versioned: bool = True) -> dict[str, Any]:
        """The ``best.json`` object, its keys in the order droiz has always written them, then
        ``format`` (left out with ``versioned=False``: the ``OptimizeResult.best`` payload)."""
        out = self._finished_dict() if self.finished else self._stopped_dict()
        if versioned:
            out["format"] = self.format
        return out

    def _finished_dict(self) -> dict[str, Any]:
        assert self.test is not None and self.engine_pick is not None
        return {
            "instruction": self.instruction,
            "robust_value": self.robust_value,
            "criterion": self.criterion,
            **self._setting_dict(with_filter=True),
            "evaluation": self.evaluation,
            "round": self.round,
            "z": _list(self.z),
            "groups": list(self.groups),
            "reference": _list(self.reference),
            "worst_case_weights": _list(self.worst_case_weights),
            "weakest_group": self.weakest_group,
            "dev": dict(self.dev),
            "engine_pick": self.engine_pick.to_dict(),
            "finalists": [f.to_dict() for f in self.finalists],
            "test": self.test.to_dict(),
            "fingerprints": dict(self.fingerprints),
        }

    def _stopped_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "stopped_by": self.stopped_by,
            "instruction": self.instruction,
            "robust_value": self.robust_value,
            "evaluation": self.evaluation,
            "evaluations_done": self.evaluations_done,
            **self._setting_dict(with_filter=False),
            "groups": list(self.groups),
            "test": None,
        }
        if self.criterion is not None:
            out.update(criterion=self.criterion, round=self.round, dev=dict(self.dev))
        if self.worst_case_weights is not None:
            out["worst_case_weights"] = list(self.worst_case_weights)
        return out

    def _setting_dict(self, *, with_filter: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "ambiguity": self.ambiguity}
        if with_filter:
            out["answer_filter"] = self.answer_filter
        return out | {"task": list(self.task), "seed": self.seed, "budget": self.budget}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunBest:
        """Read a ``best.json`` object (one without ``format`` is format 1).

        Raises:
            DataError: It is in a newer format than this droiz reads, or it is not a
                ``best.json``.
        """
        version = data.get("format", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise DataError(f"best.json has an unknown format {version!r}")
        if version > BEST_FORMAT:
            raise DataError(
                f"best.json is in format {version}; this droiz reads format {BEST_FORMAT} at "
                "most: use a newer droiz"
            )
        try:
            return cls._parse(data, version)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"best.json is not a droiz best.json ({exc!r})") from None

    @classmethod
    def _parse(cls, data: Mapping[str, Any], version: int) -> RunBest:
        test, pick = data.get("test"), data.get("engine_pick")
        return cls(
            instruction=data["instruction"],
            robust_value=_float(data["robust_value"]),
            dev={str(g): float(v) for g, v in dict(data.get("dev") or {}).items()},
            test=None if test is None else TestScores.from_dict(test),
            fingerprints={str(k): str(v) for k, v in dict(data.get("fingerprints", {})).items()},
            method=str(data["method"]),
            ambiguity=str(data["ambiguity"]),
            task=tuple(str(t) for t in data["task"]),
            seed=int(data["seed"]),
            budget=int(data["budget"]),
            groups=tuple(str(g) for g in data["groups"]),
            answer_filter=data.get("answer_filter"),
            criterion=data.get("criterion"),
            evaluation=data.get("evaluation"),
            round=data.get("round"),
            z=_tuple(data.get("z")),
            reference=_tuple(data.get("reference")),
            worst_case_weights=_tuple(data.get("worst_case_weights")),
            weakest_group=data.get("weakest_group"),
            engine_pick=None if pick is None else EnginePick.from_dict(pick),
            finalists=tuple(Finalist.from_dict(f) for f in data.get("finalists", ())),
            status=str(data.get("status", FINISHED)),
            stopped_by=data.get("stopped_by"),
            evaluations_done=data.get("evaluations_done"),
            format=version,
        )


def _setting(settings: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The run's setting as :class:`RunBest` fields, from the saved ``settings``."""
    return {
        "method": settings["method"],
        "ambiguity": settings["ambiguity"],
        "task": tuple(settings["task"]),
        "seed": settings["seed"],
        "budget": settings["budget"],
        "groups": names,
    }


def _with_pick(
    base: RunBest,
    pick: Outcome,
    value: float,
    criterion: str,
    names: tuple[str, ...],
    summary: RoundSummary | None = None,
) -> RunBest:
    """``base`` (a stopped run's) with the best-so-far evaluation ``pick``."""
    return replace(
        base,
        instruction=pick.instruction,
        robust_value=value,
        criterion=criterion,
        evaluation=pick.index,
        round=pick.round,
        dev={names[k]: v for k, v in sorted(pick.group_means().items())},
        worst_case_weights=None if summary is None else tuple(summary.weights),
    )


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _list(values: tuple[float, ...] | None) -> list[float] | None:
    return None if values is None else list(values)


def _tuple(values: Iterable[float] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)
