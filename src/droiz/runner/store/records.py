"""The journal's record kinds: one typed dataclass per kind, and their (de)serialisation.

Every line of ``journal.jsonl`` is one record, a JSON object whose ``"type"`` names its kind and
whose other keys are the dataclass's fields, in declaration order. :func:`record_to_dict` and
:func:`record_from_dict` are the only translation between the two, so the format is declared
here once (``tests/runner/data/golden-journal.jsonl`` pins it). Fields marked ``omit`` are left
out of the line when ``None`` (and read back as ``None`` when absent).

The journal format has one version, :data:`JOURNAL_VERSION`, carried by the ``start`` record and
by every ``resume`` record (with the droiz version that wrote it). All kinds share it: a change
to any kind's fields is a new format version.

Kinds: ``start``, ``resume``, ``ask`` (a round asked), ``eval`` (an evaluation), ``tell`` (the
engine told the round, with its state), ``verify`` (a finalist's missing groups measured),
``verified`` (the verification done), ``test`` (the final pick on the test split), ``abort``,
``cap`` (stopped at a ``--max-*`` cap) and ``end`` (finished).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from droiz.exceptions import DataError

JOURNAL_VERSION = 1
"""The journal format this droiz writes."""

READABLE_VERSIONS = frozenset({1})
"""The journal formats this droiz reads."""


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
    """A session resumed the run (its journal format and droiz version)."""

    kind: ClassVar[str] = "resume"
    version: int = JOURNAL_VERSION
    droiz_version: str = ""


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
    """The typed record of a journal line's JSON object (unknown extra keys are ignored).

    Raises:
        RecordError: The kind is unknown or a required field is missing.
    """
    kind = data.get("type")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(KINDS))
        raise RecordError(f"unknown record type {kind!r} (known: {known})")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = data[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RecordError(f"a {kind!r} record lacks its {f.name!r} field")
    return cls(**values)
