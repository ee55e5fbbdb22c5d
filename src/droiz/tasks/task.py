"""The :class:`Task`: splits, metric, groups, and the datasets the optimiser runner scores."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from droiz.exceptions import ConfigError
from droiz.tasks.base import Dataset, Example, Instance
from droiz.tasks.keyed import keyed_sample, keyed_unit
from droiz.tasks.metrics import score
from droiz.tasks.shifts import ShiftProfile, perturb

SPLIT_NAMES = ("induce", "dev", "test")
DEV_SIZE = 20
"""Default size of the fixed dev subset (the paper scores every instruction on 20 examples)."""

__all__ = ["DEV_SIZE", "SPLIT_NAMES", "Task"]


@dataclass(frozen=True)
class Task:
    """A task with its splits, metric and groups.

    Attributes:
        name: Task name (``"sum"``, ``"bbii/snarks"``, or a custom file's stem).
        source: ``instruction-induction``, ``instructzero-extra``, ``bigbench-ii`` or ``custom``.
        metric: Metric name for :func:`droiz.tasks.score`.
        induce: Demonstrations for instruction generation.
        dev: Validation pool (score instructions on :meth:`dev_subset`).
        test: Test set.
        groups: The groups the optimiser uses by default (``clean`` first for shift groups).
        seed: Run seed; keys the dev subset, the demos and the perturbations.
        natural_groups: Natural group labels present in the data (see :meth:`dataset`).
        notes: What the loader did (quirk fixes, removed duplicates, held-out split).
        files: The files read.
        profile: Shift profile (which groups are valid and how they keep the gold valid).
    """

    name: str
    source: str
    metric: str
    induce: tuple[Example, ...]
    dev: tuple[Example, ...]
    test: tuple[Example, ...]
    groups: tuple[str, ...]
    seed: int = 0
    natural_groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    profile: ShiftProfile = field(default_factory=lambda: ShiftProfile(()), compare=False)

    @property
    def splits(self) -> dict[str, tuple[Example, ...]]:
        """``{"induce": ..., "dev": ..., "test": ...}``."""
        return {"induce": self.induce, "dev": self.dev, "test": self.test}

    @property
    def sizes(self) -> dict[str, int]:
        """Number of examples per split."""
        return {k: len(v) for k, v in self.splits.items()}

    @property
    def valid_groups(self) -> tuple[str, ...]:
        """Every group this task can produce: shift groups of its profile, then natural ones."""
        return (*self.profile.all_groups, *self.natural_groups)

    def split(self, name: str) -> tuple[Example, ...]:
        """The examples of a split (``induce``, ``dev`` or ``test``)."""
        if name not in SPLIT_NAMES:
            raise ConfigError(f"unknown split {name!r}; expected one of {', '.join(SPLIT_NAMES)}")
        return self.splits[name]

    def with_seed(self, seed: int) -> Task:
        """The same task with another run seed."""
        return dataclasses.replace(self, seed=int(seed))

    def with_groups(self, groups: Sequence[str]) -> Task:
        """The same task with another default group list (validated)."""
        return dataclasses.replace(self, groups=self._check_groups(groups))

    def dev_subset(self, n: int = DEV_SIZE, seed: int | None = None) -> tuple[Example, ...]:
        """The fixed dev subset of ``n`` examples for a seed (all of the pool if it is smaller).

        The choice is a pure function of (task, example id, seed): the same examples for every
        instruction and every call, and the subset for a larger ``n`` contains the smaller one.
        With natural groups as the default groups, the choice alternates between the groups so
        that each is represented.
        """
        s = self.seed if seed is None else seed
        if self.natural_groups and set(self.groups) <= set(self.natural_groups):
            return self._stratified(self.dev, n, ("dev", self.name, s))
        return tuple(keyed_sample(self.dev, n, lambda e: e.id, "dev", self.name, s))

    def demos(self, k: int = 5, seed: int | None = None) -> tuple[Example, ...]:
        """``k`` demonstrations from the induce split, fixed per seed."""
        s = self.seed if seed is None else seed
        return tuple(keyed_sample(self.induce, k, lambda e: e.id, "demos", self.name, s))

    def instance(self, example: Example, group: str, seed: int | None = None) -> Instance:
        """``example`` under ``group``: a shift group, or the example's own natural group.

        A name that is both a natural label and a shift group (e.g. a custom file's ``clean``
        group) is taken as the natural label.
        """
        s = self.seed if seed is None else seed
        if group in self.natural_groups:
            if example.group != group:
                raise ConfigError(f"example {example.id} is not in natural group {group!r}")
            return Instance(self.name, example.id, group, example.input, example.answers)
        return perturb(self.name, self.metric, self.profile, example, group, s)

    def dataset(
        self,
        split: str = "dev",
        groups: Sequence[str] | None = None,
        *,
        n: int | None = None,
        seed: int | None = None,
        examples: Sequence[Example] | None = None,
        assign: str = "paired",
    ) -> Dataset:
        """The instances the runner sends to the black-box LLM, with their golds and groups.

        Args:
            split: Split to draw from; ``dev`` uses :meth:`dev_subset` (``n`` defaults to 20).
            groups: Groups (default :attr:`groups`). Shift groups are paired: every example
                appears in each of them. A natural group takes the examples labelled with it.
            n: Number of base examples (default: 20 for ``dev``, the whole split otherwise).
            seed: Run seed (default :attr:`seed`).
            examples: Explicit base examples (overrides ``split``'s selection).
            assign: ``"paired"`` (every example x every group) or ``"round_robin"`` (each
                example gets one group, cycling through the groups in a seeded order).
        """
        s = self.seed if seed is None else seed
        names = self._check_groups(self.groups if groups is None else groups)
        base = self._select(split, n, s) if examples is None else tuple(examples)
        if assign == "paired":
            pairs = [(e, g) for e in base for g in names if self._member(e, g)]
        elif assign == "round_robin":
            if set(names) & set(self.natural_groups):
                raise ConfigError("assign='round_robin' needs shift groups, not natural groups")
            order = sorted(base, key=lambda e: keyed_unit("assign", self.name, e.id, s))
            pairs = [(e, names[i % len(names)]) for i, e in enumerate(order)]
        else:
            raise ConfigError(f"assign must be 'paired' or 'round_robin', got {assign!r}")
        instances = tuple(self.instance(e, g, s) for e, g in pairs)
        return Dataset(self.name, split, self.metric, names, instances)

    def change_rates(self, split: str = "test", seed: int | None = None) -> dict[str, float]:
        """Share of the split's examples whose query each shift group changes."""
        examples = self.split(split)
        s = self.seed if seed is None else seed
        out: dict[str, float] = {}
        for group in self.profile.all_groups:
            changed = [
                perturb(self.name, self.metric, self.profile, e, group, s).changed for e in examples
            ]
            out[group] = sum(changed) / len(changed) if changed else 0.0
        return out

    def score(self, prediction: str, answers: Sequence[str]) -> float:
        """Score one prediction with the task's metric."""
        return score(self.metric, prediction, list(answers))

    def _select(self, split: str, n: int | None, seed: int) -> tuple[Example, ...]:
        if split == "dev":
            return self.dev_subset(DEV_SIZE if n is None else n, seed)
        pool = self.split(split)
        if n is None or n >= len(pool):
            return pool
        return tuple(keyed_sample(pool, n, lambda e: e.id, split, self.name, seed))

    def _member(self, example: Example, group: str) -> bool:
        return example.group == group if group in self.natural_groups else True

    def _stratified(
        self, pool: Sequence[Example], n: int, key: tuple[Hashable, ...]
    ) -> tuple[Example, ...]:
        ranked = sorted(pool, key=lambda e: keyed_unit(*key, e.id))
        rank_in_group: dict[str, int] = {}
        order = []
        for e in ranked:
            r = rank_in_group[str(e.group)] = rank_in_group.get(str(e.group), -1) + 1
            order.append((r, self.groups.index(e.group) if e.group in self.groups else 0, e))
        keep = {e.id for _, _, e in sorted(order, key=lambda t: t[:2])[:n]}
        return tuple(e for e in pool if e.id in keep)

    def _check_groups(self, groups: Sequence[str]) -> tuple[str, ...]:
        names = tuple(groups)
        bad = [g for g in names if g not in self.valid_groups]
        if bad or not names or len(set(names)) != len(names):
            raise ConfigError(
                f"invalid groups {list(names)} for task {self.name!r}: each must be one of "
                f"{', '.join(self.valid_groups)}, without repeats"
            )
        return names
