"""Evaluation outcomes, the book of measured (instruction, group) scores, and engine inputs.

An *evaluation* is one soft prompt ``z`` of a round, its instruction and the groups the engine
asked for (*pending*). A *measurement* is the dev scores of one instruction on one group.
Measurements are made once: an evaluation whose instruction was already measured on a group
reuses the scores (within a round and across rounds). When the round is told, each evaluation
reports every group measured for its instruction up to the end of that round (*told* groups, a
superset of the pending ones), so the engine learns all that is known about the instruction for
free. The told groups are a function of the journaled measurements, so resume and replay
recompute them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from droiz.runner.store.records import Eval


@dataclass(frozen=True)
class ScoreColumns:
    """The columns of an instruction's per-example dev score vector: group after group, each
    group's dev examples (``sizes``) under its name (``names``)."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]

    @property
    def offsets(self) -> list[int]:
        """The first column of each group."""
        out, total = [], 0
        for size in self.sizes:
            out.append(total)
            total += size
        return out

    @property
    def n_examples(self) -> int:
        """The number of columns."""
        return sum(self.sizes)

    @classmethod
    def from_groups(cls, groups: Sequence[dict[str, Any]]) -> ScoreColumns:
        """The columns of the groups saved in ``config.json`` (``name``, ``n_dev``)."""
        return cls(tuple(str(g["name"]) for g in groups), tuple(int(g["n_dev"]) for g in groups))


def group_mean(scores: Sequence[float]) -> float:
    """The mean of a group's per-example scores (the same arithmetic everywhere)."""
    return math.fsum(scores) / len(scores)


@dataclass
class Outcome:
    """One evaluation's results (one ``eval`` journal record).

    Attributes:
        round, slot, index: Round (from 1), position in the round, evaluation number (from 0).
        z: The soft prompt. instruction: The generated instruction.
        pending: Group indices the engine asked for.
        scores: Per-example dev scores of the pending groups (what the journal records).
        told: Per-example dev scores of every group reported to the engine (see
            :meth:`complete`).
        paid: Groups this evaluation measured (first one to need them).
        sent, cache_hits, reused: Queries sent to the model, served by the response cache, and
            answered by earlier measurements. tokens: Tokens of the queries it sent.
        embedding: Instruction embedding (semantic kernel), or ``None``.
        answers: The raw answers behind :attr:`scores` (before any answer filter), by group.
    """

    round: int
    slot: int
    index: int
    z: list[float]
    instruction: str
    pending: list[int]
    scores: dict[int, list[float]] = field(default_factory=dict)
    told: dict[int, list[float]] = field(default_factory=dict)
    paid: list[int] = field(default_factory=list)
    sent: int = 0
    cache_hits: int = 0
    reused: int = 0
    tokens: int = 0
    embedding: list[float] | None = None
    answers: dict[int, list[str]] = field(default_factory=dict)

    def group_means(self) -> dict[int, float]:
        """Mean dev score of every told group (of the pending ones before the round is told)."""
        scores = self.told or self.scores
        return {k: group_mean(s) for k, s in sorted(scores.items())}

    def complete(self, book: ScoreBook) -> None:
        """Set :attr:`told`: every group measured for the instruction up to this round."""
        groups = set(self.pending) | book.known_through(self.instruction, self.round)
        self.told = {k: list(book.get(self.instruction, k) or []) for k in sorted(groups)}

    def to_record(self, columns: ScoreColumns, kind: type[Eval] = Eval) -> Eval:
        """The journal record of this evaluation (``kind``: :class:`Eval` or :class:`Verify`)."""
        names = columns.names
        return kind(
            round=self.round,
            slot=self.slot,
            index=self.index,
            z=self.z,
            instruction=self.instruction,
            groups=[names[k] for k in self.pending],
            group_scores={names[k]: group_mean(s) for k, s in sorted(self.scores.items())},
            scores={names[k]: self.scores[k] for k in sorted(self.scores)},
            paid=[names[k] for k in self.paid],
            requests={"sent": self.sent, "cache_hits": self.cache_hits, "reused": self.reused},
            tokens=self.tokens,
            answers={names[k]: self.answers[k] for k in sorted(self.answers)} or None,
            embedding=self.embedding,
        )

    @classmethod
    def from_record(cls, record: Eval, columns: ScoreColumns) -> Outcome:
        idx = {name: k for k, name in enumerate(columns.names)}
        req = record.requests
        return cls(
            round=int(record.round),
            slot=int(record.slot),
            index=int(record.index),
            z=[float(v) for v in record.z],
            instruction=str(record.instruction),
            pending=[idx[g] for g in record.groups],
            scores={idx[g]: [float(v) for v in s] for g, s in record.scores.items()},
            paid=[idx[g] for g in record.paid],
            sent=int(req.get("sent", 0)),
            cache_hits=int(req.get("cache_hits", 0)),
            reused=int(req.get("reused", 0)),
            tokens=int(record.tokens),
            embedding=record.embedding,
            answers={idx[g]: [str(a) for a in v] for g, v in (record.answers or {}).items()},
        )


class ScoreBook:
    """Dev scores of every (instruction, group) measured so far, with the round of measurement
    and the raw answers (when known)."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[int, tuple[list[float], int]]] = {}
        self._answers: dict[tuple[str, int], list[str]] = {}

    def __len__(self) -> int:
        return sum(len(groups) for groups in self._entries.values())

    def get(self, instruction: str, group: int) -> list[float] | None:
        entry = self._entries.get(instruction, {}).get(group)
        return None if entry is None else entry[0]

    def answers(self, instruction: str, group: int) -> list[str] | None:
        """The raw answers of a measurement, or ``None`` when not recorded."""
        return self._answers.get((instruction, group))

    def add(
        self,
        instruction: str,
        group: int,
        scores: list[float],
        round_no: int,
        answers: list[str] | None = None,
    ) -> None:
        self._entries.setdefault(instruction, {}).setdefault(group, (list(scores), round_no))
        if answers is not None:
            self._answers.setdefault((instruction, group), list(answers))

    def known_through(self, instruction: str, round_no: int) -> set[int]:
        """Groups measured for ``instruction`` in rounds up to ``round_no``."""
        groups = self._entries.get(instruction, {})
        return {k for k, (_, r) in groups.items() if r <= round_no}

    def add_outcome(self, outcome: Outcome) -> None:
        for k, scores in outcome.scores.items():
            self.add(outcome.instruction, k, scores, outcome.round, outcome.answers.get(k))


def engine_inputs(
    outcomes: Sequence[Outcome], columns: ScoreColumns, n_groups: int, own: bool = False
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor | None]:
    """``tell`` arguments of completed outcomes: ``z`` (``n x d``), ``y`` and ``mask`` (``n x K``),
    per-example ``scores`` (``n x E``, NaN outside the told groups) and ``embeddings``
    (``n x D``, or None). ``own``: each outcome's own groups only (a candidate search, which
    holds the instruction's earlier groups at the same point already), else every group
    measured for its instruction (:meth:`Outcome.complete`)."""
    n = len(outcomes)
    z = torch.tensor([o.z for o in outcomes], dtype=torch.float64)
    y = torch.full((n, n_groups), float("nan"), dtype=torch.float64)
    mask = torch.zeros(n, n_groups, dtype=torch.bool)
    scores = torch.full((n, columns.n_examples), float("nan"), dtype=torch.float64)
    offsets = columns.offsets
    for i, o in enumerate(outcomes):
        for k, s in o.told.items():
            if own and k not in o.pending:
                continue
            y[i, k] = group_mean(s)
            mask[i, k] = True
            scores[i, offsets[k] : offsets[k] + len(s)] = torch.tensor(s, dtype=torch.float64)
    embeddings = None
    if outcomes and outcomes[0].embedding is not None:
        embeddings = torch.tensor([o.embedding for o in outcomes], dtype=torch.float64)
    return z, y, mask, scores, embeddings
