"""The journal's record kinds: one typed dataclass per kind, and their (de)serialisation.

Every line of ``journal.jsonl`` is one record, a JSON object whose ``"type"`` names its kind and
whose other keys are the dataclass's fields, in declaration order. :func:`record_to_dict` and
:func:`record_from_dict` are the only translation between the two, so the format is declared
here once (``tests/runner/data/golden-journal.jsonl`` pins it). Fields marked ``omit`` are left
out of the line when ``None`` (and read back as ``None`` when absent).

The journal format has one version, :data:`JOURNAL_VERSION`, carried by the ``start`` record and
by every ``resume`` record (with the droiz version that wrote it). All kinds share it: a change
to any kind's fields is a new format version. Format 2 seals every line with its checksum
(:mod:`droiz.checksum`) and gives ``resume`` the session's caps; format 1 is still read.

:func:`record_from_dict` checks every field against its type and the values a run can write (a
score in ``[0, 1]``, an evaluation's group scores the means of its scores, ...), so a journal
whose values were damaged is refused instead of resumed.

Kinds: ``start``, ``resume``, ``ask`` (a round asked), ``eval`` (an evaluation), ``tell`` (the
engine told the round, with its state), ``verify`` (a finalist's missing groups measured),
``verified`` (the verification done), ``test`` (the final pick on the test split), ``abort``,
``cap`` (stopped at a ``--max-*`` cap) and ``end`` (finished).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from droiz.exceptions import ConfigError, DataError
from droiz.validate import check_type, type_hints

JOURNAL_VERSION = 2
"""The journal format this droiz writes."""

READABLE_VERSIONS = frozenset({1, 2})
"""The journal formats this droiz reads (1: no checksums, no caps in ``resume``)."""

SEALED_VERSION = 2
"""The first format whose lines carry checksums."""


class RecordError(DataError):
    """A journal line is not a valid record (its kind or a required field is wrong)."""


_OMIT: dict[str, Any] = {"omit": True}


@dataclass
class Record:
    """Base of every record kind; ``kind`` is the line's ``"type"``."""

    kind: ClassVar[str] = ""


@dataclass
class Start(Record):
    """The first record: the journal format, the droiz version and the resolved settings."""

    kind: ClassVar[str] = "start"
    version: int = JOURNAL_VERSION
    droiz_version: str = ""
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Resume(Record):
    """A session resumed the run: its journal format, droiz version and caps (``max_requests``,
    ``max_tokens``, ``max_cost``; ``None`` in format 1, which did not record them)."""

    kind: ClassVar[str] = "resume"
    version: int = JOURNAL_VERSION
    droiz_version: str = ""
    caps: dict[str, float | None] | None = field(default=None, metadata=_OMIT)


@dataclass
class Ask(Record):
    """A round's soft prompts, pending groups and instructions, before any request."""

    kind: ClassVar[str] = "ask"
    round: int
    z: list[list[float]]
    pending: list[list[str]]
    instructions: list[str]
    acquisition_weights: list[float] | None = None


@dataclass
class Eval(Record):
    """One evaluation: its groups' per-example dev scores (and raw answers), usage, budget."""

    kind: ClassVar[str] = "eval"
    round: int
    slot: int
    index: int
    z: list[float]
    instruction: str
    groups: list[str]
    group_scores: dict[str, float]
    scores: dict[str, list[float]]
    paid: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    answers: dict[str, list[str]] | None = field(default=None, metadata=_OMIT)
    embedding: list[float] | None = field(default=None, metadata=_OMIT)
    budget: dict[str, float] | None = field(default=None, metadata=_OMIT)


@dataclass
class Verify(Eval):
    """A finalist measured on the dev groups it lacked (same fields as ``eval``)."""

    kind: ClassVar[str] = "verify"


@dataclass
class Verified(Record):
    """The finalists' verification is done."""

    kind: ClassVar[str] = "verified"
    finalists: list[int]
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class Tell(Record):
    """The end of a round: its summary, the groups told, the engine's state and the usage."""

    kind: ClassVar[str] = "tell"
    round: int
    summary: dict[str, Any]
    told: list[list[str]]
    engine: dict[str, Any]
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class Abort(Record):
    """A backend failure, Ctrl-C or SIGTERM stopped the run."""

    kind: ClassVar[str] = "abort"
    round: int
    error: str
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class Cap(Record):
    """A ``--max-*`` cap stopped the run: the cap, its limit and what was used."""

    kind: ClassVar[str] = "cap"
    round: int
    cap: str
    error: str
    limit: float | None = None
    used: dict[str, float] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class Test(Record):
    """The test evaluation of the final pick."""

    __test__: ClassVar[bool] = False  # not a pytest test class when imported
    kind: ClassVar[str] = "test"
    index: int
    instruction: str
    scores: dict[str, list[float]]
    answers: dict[str, list[str]]
    n_examples: dict[str, int]
    report: dict[str, Any]
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class End(Record):
    """The run finished."""

    kind: ClassVar[str] = "end"


KINDS: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (Start, Resume, Ask, Eval, Verify, Verified, Tell, Abort, Cap, Test, End)
}
"""Every record kind by its ``"type"``."""


def record_to_dict(record: Record) -> dict[str, Any]:
    """The JSON object of ``record``: ``type`` first, then its fields in declaration order."""
    out: dict[str, Any] = {"type": record.kind}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if value is None and f.metadata.get("omit"):
            continue
        out[f.name] = value
    return out


def record_from_dict(data: dict[str, Any]) -> Record:
    """The typed record of a journal line's JSON object (unknown extra keys, such as the line's
    checksum, are ignored), its fields checked (see the module).

    Raises:
        RecordError: The kind is unknown, a required field is missing, or a field is of the wrong
            type or holds a value no run writes.
    """
    kind = data.get("type")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(KINDS))
        raise RecordError(f"unknown record type {kind!r} (known: {known})")
    hints = type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            try:
                check_type(f.name, data[f.name], hints[f.name])
            except ConfigError as exc:
                raise RecordError(f"a {kind!r} record's {_short(str(exc))}") from None
            values[f.name] = data[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RecordError(f"a {kind!r} record lacks its {f.name!r} field")
    record = cls(**values)
    _check_values(record)
    return record


# ------------------------------------------------------------------ values
def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_values(record: Record) -> None:
    """The values a run writes: counts >= 0, finite numbers, scores in ``[0, 1]``, an
    evaluation's group scores the means of its scores, one instruction per asked point."""
    kind = record.kind
    if isinstance(record, Eval):
        _check_eval(record)
    elif isinstance(record, Ask):
        _check_count(kind, "round", record.round)
        _check_points(kind, record.z)
        if not len(record.z) == len(record.pending) == len(record.instructions):
            raise RecordError(
                f"an 'ask' record has {len(record.z)} points, {len(record.pending)} pending "
                f"lists and {len(record.instructions)} instructions; they must be as many"
            )
    elif isinstance(record, Test):
        _check_count(kind, "index", record.index)
        _check_scores(kind, record.scores, empty=True)
    elif isinstance(record, Tell | Abort | Cap):
        _check_count(kind, "round", record.round)
    for name in ("stats", "used", "budget", "requests"):
        counters = getattr(record, name, None)
        if isinstance(counters, Mapping):
            for key, value in counters.items():
                if not _number(value):
                    raise RecordError(
                        f"a {kind!r} record's {name}[{key!r}] must be a finite number, got "
                        f"{_short(repr(value), 40)}"
                    )


def _check_eval(record: Eval) -> None:
    kind = record.kind
    for name in ("round", "slot", "index", "tokens"):
        _check_count(kind, name, getattr(record, name))
    _check_points(kind, [record.z])
    _check_scores(kind, record.scores)
    if set(record.group_scores) != set(record.scores):
        raise RecordError(
            f"a {kind!r} record's group_scores name the groups {sorted(record.group_scores)} "
            f"but its scores {sorted(record.scores)}"
        )
    for group, value in record.group_scores.items():
        scores = record.scores[group]
        mean = math.fsum(scores) / len(scores)
        if not _number(value) or not 0.0 <= value <= 1.0:
            raise RecordError(
                f"a {kind!r} record has the group score {_short(repr(value), 40)} for "
                f"{group!r}; scores lie in [0, 1]"
            )
        if abs(value - mean) > 1e-9:
            raise RecordError(
                f"a {kind!r} record has the group score {value!r} for {group!r}, but the mean "
                f"of its scores is {mean!r}"
            )
    for name in ("groups", "paid"):
        unknown = [g for g in getattr(record, name) if g not in record.scores]
        if unknown:
            raise RecordError(
                f"a {kind!r} record's {name} name {unknown[0]!r}, which it has no scores of"
            )
    for group, answers in (record.answers or {}).items():
        if group not in record.scores or len(answers) != len(record.scores[group]):
            raise RecordError(f"a {kind!r} record's answers for {group!r} do not match its scores")


def _check_count(kind: str, name: str, value: int) -> None:
    if value < 0:
        raise RecordError(f"a {kind!r} record's {name} must be >= 0, got {value}")


def _number(value: Any) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and math.isfinite(value)


def _check_points(kind: str, points: Any) -> None:
    for point in points:
        if not isinstance(point, list) or not all(_number(v) for v in point):
            raise RecordError(f"a {kind!r} record's z must hold lists of finite numbers")


def _check_scores(kind: str, scores: Mapping[str, Any], *, empty: bool = False) -> None:
    for group, values in scores.items():
        if not isinstance(values, list) or not (values or empty):
            raise RecordError(f"a {kind!r} record's scores for {group!r} must be a non-empty list")
        for value in values:
            if not _number(value) or not 0.0 <= value <= 1.0:
                raise RecordError(
                    f"a {kind!r} record has the score {_short(repr(value), 40)} for {group!r}; "
                    "scores lie in [0, 1]"
                )
