"""``droiz bench table replay``: methods run over many seeds on answer tables alone, sending no
request.

An answer table (``droiz bench table build``) holds one executor's score of every (pool
instruction, group, example) of a task's fixed dev pool and fixed test set. A replay runs each
method as ``droiz optimize`` would with that pool (:class:`~droiz.optim.RobustBO` searching the
pool's candidates, :mod:`droiz.optim.candidates`), with every measurement read from the table:

* seed ``s`` draws ``n_dev`` dev examples per group from the table's dev pool (a seeded
  permutation of the example ids; groups that share ids get the same examples) and an
  evaluation of an instruction on a group observes its mean score over them;
* the candidates' features are the table's pool features (a ``.jsonl`` pool's), else the
  instructions' sentence embeddings reduced by a seeded PCA to ``pool_dim`` dimensions;
* the final pick is the runner's (``finalists`` > 0: the top instructions by the method's
  final-pick criterion measured on every group of the seed's dev sample, then the best by the
  criterion's measured value) and it is scored on the table's fixed test set;
* every method of a seed shares the seed: the same dev sample and the same initial design.

Comparisons pair the methods by (task, seed) and resample the test examples jointly with the
seeds (:mod:`droiz.bench.replay_stats`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from droiz._workers import map_workers
from droiz.ambiguity import parse_ambiguity
from droiz.axes import DEFAULT_GROUP_RULE, GROUP_RULE_CHOICES
from droiz.bench.replay_stats import METRICS, JointBootstrap, TaskTest
from droiz.bench.sim import ablation_design, main_effect_cells, one_axis_pairs
from droiz.bench.table import TABLE_FORMAT, TABLE_VERSION
from droiz.exceptions import ConfigError
from droiz.optim import METHODS, SELECTIONS, RobustBO
from droiz.optim.context import derive_seed
from droiz.registry import unknown_name_message
from droiz.runner.settings.checks import LARGE_BUDGET
from droiz.sim.demo import Search, searches_axes
from droiz.tasks.evaluation import train_mix
from droiz.validate import MAX_SEEDS, MAX_WORKERS, check_count, read_input

DEFAULT_METHODS = ("dro", "ucb", "ei", "hybrid", "random")
MIN_BO_ROUNDS = 3
"""BO rounds the budget must leave after the initial design."""
LABEL = "REPLAY: answer tables, no request sent"


@dataclass(frozen=True)
class ReplayTable:
    """One answer table, checked: per group (in ``groups`` order) the scores of every instruction
    on every dev-pool example (``N x n_g``) and the test set (:class:`TaskTest`)."""

    path: str
    sha256: str
    task: str
    seed: int
    groups: tuple[str, ...]
    instructions: tuple[str, ...]
    features: tuple[tuple[float, ...], ...] | None
    dev: tuple[np.ndarray, ...]
    dev_ids: tuple[tuple[str, ...], ...]
    test: TaskTest
    executor: str = ""

    def describe(self) -> dict[str, Any]:
        """The table as the outputs name it."""
        return {
            "task": self.task,
            "file": self.path,
            "sha256": self.sha256,
            "executor": self.executor,
            "instructions": len(self.instructions),
            "groups": list(self.groups),
            "dev_pool": {g: int(d.shape[-1]) for g, d in zip(self.groups, self.dev, strict=True)},
            "test": {
                g: int(t.shape[-1]) for g, t in zip(self.groups, self.test.scores, strict=True)
            },
            "features": "table" if self.features is not None else "embeddings",
        }


def _fail(path: object, what: str) -> ConfigError:
    return ConfigError(f"table {str(path)!r}: {what}; build it with droiz bench table build")


def read_table(path: str | os.PathLike[str]) -> ReplayTable:
    """Read and check an answer table (one-line :class:`ConfigError` on anything amiss)."""
    raw = read_input(Path(path), "the table")  # not a pipe, which would block
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _fail(path, "not JSON") from None
    if not isinstance(data, dict) or data.get("format") != TABLE_FORMAT:
        raise _fail(path, f"not an answer table (its format is not {TABLE_FORMAT!r})")
    if data.get("version") != TABLE_VERSION:
        raise _fail(path, f"version {data.get('version')!r}, this droiz reads {TABLE_VERSION}")
    try:
        groups = tuple(str(g) for g in data["groups"])
        pool = data["pool"]
        texts = tuple(str(t) for t in pool["instructions"])
        feats = pool.get("features")
        splits = {s: data["splits"][s] for s in ("dev", "test")}
        task, seed = str(data["task"]), int(data["seed"])
    except (KeyError, TypeError, ValueError):
        raise _fail(path, "it lacks groups, pool, task, seed or the dev and test splits") from None
    if len(texts) < 2 or len(groups) < 1:
        raise _fail(path, f"{len(texts)} instructions and {len(groups)} groups (need 2 and 1)")
    arrays = {s: _split(path, s, splits[s], groups, len(texts)) for s in splits}
    features = None
    if feats is not None:
        try:
            f = np.asarray(feats, dtype=np.float64)
        except (TypeError, ValueError):
            raise _fail(path, "its pool features are not numbers") from None
        if f.ndim != 2 or f.shape[0] != len(texts) or not np.isfinite(f).all():
            raise _fail(path, f"pool features of shape {f.shape} for {len(texts)} instructions")
        features = tuple(tuple(row) for row in f.tolist())
    executor = data.get("executor") or {}
    return ReplayTable(
        path=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
        task=task,
        seed=seed,
        groups=groups,
        instructions=texts,
        features=features,
        dev=tuple(a for a, _ in arrays["dev"]),
        dev_ids=tuple(ids for _, ids in arrays["dev"]),
        test=TaskTest(
            tuple(a for a, _ in arrays["test"]), len({ids for _, ids in arrays["test"]}) == 1
        ),
        executor=str(executor.get("spec", "")) if isinstance(executor, dict) else "",
    )


def _split(
    path: object, split: str, data: Any, groups: Sequence[str], n: int
) -> list[tuple[np.ndarray, tuple[str, ...]]]:
    """Per group: the ``n x m`` scores in ``[0, 1]`` of a split and its example ids."""
    out = []
    for g in groups:
        try:
            ids = tuple(str(i) for i in data["example_ids"][g])
            scores = np.asarray(data["scores"][g], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise _fail(path, f"its {split} split lacks the scores of group {g!r}") from None
        if scores.shape != (n, len(ids)) or not ids:
            raise _fail(
                path,
                f"{split} scores of group {g!r} have shape {scores.shape}, expected "
                f"({n} instructions, {len(ids)} examples)",
            )
        if not (np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()):
            raise _fail(path, f"{split} scores of group {g!r} are not all in [0, 1]")
        out.append((scores, ids))
    return out


@dataclass(frozen=True)
class ReplaySettings:
    """What a replay runs (the flags of ``droiz bench table replay``).

    Attributes:
        methods: Registered methods (ignored with ``ablation``: its 12 cells run instead).
        seeds: Seeds ``0 .. seeds - 1``. budget: Evaluations per run.
        group_rule: The rule of every model-based method (``None`` with ``ablation``).
        n_dev: Dev examples per group each seed draws. n_init, batch_size, groups_per_round:
            As in ``droiz optimize``. ambiguity: The ambiguity set (spec).
        finalists: Instructions verified on every group before the final pick (0: the
            engine's own pick). pool_dim: Features of a table whose pool has none.
    """

    methods: tuple[str, ...] = DEFAULT_METHODS
    seeds: int = 100
    budget: int = 20
    group_rule: str | None = DEFAULT_GROUP_RULE
    ablation: bool = False
    n_dev: int = 20
    n_init: int = 6
    batch_size: int = 2
    groups_per_round: int = 2
    ambiguity: str = "kl:0.1"
    finalists: int = 3
    pool_dim: int = 10

    def check(self) -> None:
        """One-line :class:`ConfigError` on a bad setting (before any table is read)."""
        _count("seeds", self.seeds, 1, MAX_SEEDS)
        _count("budget", self.budget, 1, LARGE_BUDGET)
        for name, low in (("n_dev", 1), ("n_init", 1)):
            _count(name, getattr(self, name), low)
        for name, low in (("batch_size", 1), ("groups_per_round", 1), ("finalists", 0)):
            _count(name, getattr(self, name), low)
        _count("pool_dim", self.pool_dim, 1)
        rounds = (self.budget - self.n_init) // self.batch_size
        if rounds < MIN_BO_ROUNDS:
            need = self.n_init + MIN_BO_ROUNDS * self.batch_size
            raise ConfigError(
                f"--budget {self.budget} leaves {max(rounds, 0)} BO round(s) after --n-init "
                f"{self.n_init} with --batch-size {self.batch_size}; a replay needs at least "
                f"{MIN_BO_ROUNDS}: use --budget {need} or more, or a smaller --n-init"
            )
        parse_ambiguity(self.ambiguity)
        if self.ablation:
            return
        if self.group_rule not in GROUP_RULE_CHOICES:
            raise ConfigError(
                unknown_name_message("--group-rule value", str(self.group_rule), GROUP_RULE_CHOICES)
            )
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"--methods needs distinct method names, got {list(self.methods)}")
        for m in self.methods:
            if m not in METHODS:
                raise ConfigError("--methods: " + unknown_name_message("method", m, METHODS))

    def searches(self) -> list[Search]:
        """The rows: each method with the group rule, or the ablation's 12 cells."""
        if self.ablation:
            return ablation_design()
        rule = (("group_selection", self.group_rule),)
        return [Search(m, rule, ((m, None),)) for m in self.methods]

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["methods"] = list(self.methods)
        if self.ablation:
            out["methods"], out["group_rule"] = None, None
        return out


def _count(name: str, value: object, low: int, high: int | None = None) -> None:
    flag = "--" + name.replace("_", "-")
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{flag} must be an integer >= {low}, got {value!r}")
    if high is not None:
        check_count(flag, value, low, high)


def check_tables(tables: Sequence[ReplayTable], settings: ReplaySettings) -> None:
    """The tables fit the settings: distinct tasks, enough dev examples for ``n_dev``."""
    seen: dict[str, str] = {}
    for t in tables:
        if t.task in seen:
            raise ConfigError(
                f"tables {seen[t.task]!r} and {t.path!r} are both of task {t.task!r}; give one "
                "table per task"
            )
        seen[t.task] = t.path
        smallest = min(d.shape[-1] for d in t.dev)
        if smallest < settings.n_dev:
            raise ConfigError(
                f"table {t.path!r} has {smallest} dev examples in a group; --n-dev "
                f"{settings.n_dev} asks for more (use --n-dev {smallest} or less)"
            )
    if any(t.features is None for t in tables):  # embeddings: fail now, not after the reading
        from droiz._imports import require

        require("sentence_transformers", "semantic")
        require("sklearn", "semantic")


def table_features(table: ReplayTable, pool_dim: int) -> list[list[float]]:
    """The candidates' features of a table: its pool's, else embeddings reduced by PCA."""
    from droiz.llm.pool import PoolFile, pool_features

    pool = PoolFile(list(table.instructions), None if table.features is None else [
        list(r) for r in table.features
    ])  # fmt: skip
    return pool_features(pool, dim=pool_dim, seed=table.seed)


def dev_means(table: ReplayTable, n_dev: int, seed: int) -> np.ndarray:
    """``N x K``: every instruction's mean dev score per group on seed ``seed``'s sample: the
    first ``n_dev`` ids of a seeded permutation of all the table's dev ids that the group has
    (groups that share ids get the same examples)."""
    ids = sorted({i for group in table.dev_ids for i in group})
    order = np.random.default_rng(derive_seed(seed, 11)).permutation(len(ids))
    rank = {ids[k]: r for r, k in enumerate(order)}
    out = []
    for scores, group in zip(table.dev, table.dev_ids, strict=True):
        cols = sorted(range(len(group)), key=lambda c: rank[group[c]])[:n_dev]
        out.append(scores[:, cols].mean(-1))
    return np.stack(out, -1)


@dataclass(frozen=True)
class Pick:
    """One row of one run: the task, the row (method or ablation cell), the seed, the picked
    candidate and the evaluations the run made (fewer than the budget when every pair of the
    pool was observed)."""

    task: str
    row: str
    seed: int
    pick: int
    evaluations: int


def run_one(
    table: ReplayTable,
    features: Sequence[Sequence[float]],
    spec: Search,
    seed: int,
    settings: ReplaySettings,
) -> list[Pick]:
    """Run ``spec`` on ``table`` for one seed: a pick per row."""
    dev = dev_means(table, settings.n_dev, seed)
    reference = tuple(train_mix(table.groups).values())
    bo = RobustBO(
        n_groups=len(table.groups),
        method=spec.method,
        ambiguity=settings.ambiguity,
        budget=settings.budget,
        seed=seed,
        candidates=features,
        n_init=settings.n_init,
        batch_size=settings.batch_size,
        groups_per_round=settings.groups_per_round,
        reference=reference,
        **dict(spec.options),
    )
    while not bo.stop():
        p = bo.ask()
        assert p.index is not None
        bo.tell(p, torch.from_numpy(dev[p.index.numpy()]))
    return [
        Pick(table.task, row, seed, final_pick(bo, dev, settings.finalists, selection), len(bo.obs))
        for row, selection in spec.picks
    ]


def final_pick(bo: RobustBO, dev: np.ndarray, finalists: int, selection: str | None = None) -> int:
    """The candidate ``droiz optimize`` would report: with ``finalists = m > 0`` the ``m``
    distinct candidates ranked highest by the final-pick criterion (at each one's last
    evaluation) measured on every group (``dev``, ``N x K``), and the best by the criterion's
    measured value (the worst case over the ambiguity set for a robust criterion, else the
    reference mixture); with 0 the engine's own pick."""
    best = bo.best(selection)
    candidates = bo.candidate_index(bo.obs.z).tolist()
    if finalists == 0:
        return int(candidates[best.index])
    last = {c: row for row, c in enumerate(candidates)}
    ranked = sorted(last.items(), key=lambda kv: (-float(best.scores[kv[1]]), kv[1]))[:finalists]
    chosen = [c for c, _ in ranked]
    u = torch.from_numpy(dev[chosen])
    if SELECTIONS.get(best.selection).robust:
        values = bo.ambiguity.worst_case(u, bo.reference).value
    else:
        values = u @ bo.reference
    pick: int = chosen[int(torch.argmax(values))]
    return pick


# ------------------------------------------------------------------ running
_STATE: dict[str, Any] = {}


def _init(tables: Sequence[ReplayTable], features: Sequence[Any], settings: ReplaySettings) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    _STATE.update(tables=tables, features=features, settings=settings)


def _job(job: tuple[int, Search, int]) -> list[Pick]:
    k, spec, seed = job
    return run_one(_STATE["tables"][k], _STATE["features"][k], spec, seed, _STATE["settings"])


@dataclass
class Replay:
    """A replay's picks (sorted by task, row, seed), its rows' axes and its comparisons."""

    tables: list[ReplayTable]
    settings: ReplaySettings
    picks: list[Pick]
    axes: dict[str, dict[str, str]]
    comparisons: list[dict[str, Any]] = field(default_factory=list)

    def rows(self) -> list[str]:
        return list(self.axes)

    def accuracy(self, pick: Pick) -> np.ndarray:
        """``K`` test accuracies of a pick."""
        table = next(t for t in self.tables if t.task == pick.task)
        accuracy: np.ndarray = table.test.accuracy()[pick.pick]
        return accuracy


def run_replay(
    tables: Sequence[ReplayTable],
    settings: ReplaySettings,
    *,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> Replay:
    """Every row on every table and seed (in ``workers`` processes), then the comparisons."""
    settings.check()
    check_count("--workers", workers, 1, MAX_WORKERS)
    check_tables(tables, settings)
    searches = settings.searches()
    features = [table_features(t, settings.pool_dim) for t in tables]
    jobs = [
        (k, s, seed) for k in range(len(tables)) for s in searches for seed in range(settings.seeds)
    ]
    workers = min(workers, len(jobs))  # never more processes than runs
    picks: list[Pick] = []
    if workers > 1:
        chunk = max(1, len(jobs) // (8 * workers))
        init = (list(tables), features, settings)
        for done in map_workers(_job, jobs, workers, _init, init, chunksize=chunk):
            picks += done
    else:
        _init(list(tables), features, settings)
        for k, spec, seed in jobs:
            picks += _job((k, spec, seed))
            if progress is not None and seed == settings.seeds - 1:
                progress(f"  {tables[k].task}: {spec.picks[0][0]} done ({settings.seeds} seeds)")
    order = {row: i for i, row in enumerate(searches_axes(searches))}
    picks.sort(key=lambda p: (p.task, order[p.row], p.seed))
    replay = Replay(list(tables), settings, picks, searches_axes(searches))
    replay.comparisons = comparisons(replay)
    return replay


# ------------------------------------------------------------------ comparisons
def comparisons(replay: Replay) -> list[dict[str, Any]]:
    """The paired comparisons of the design, on both metrics: with methods, each method minus
    ``random`` and ``dro`` minus each other method; with the ablation, every pair of cells that
    differs in one axis and each axis's main effect (overall and within each acquisition)."""
    boot = JointBootstrap(
        [t.test for t in replay.tables], [replay.settings.seeds] * len(replay.tables)
    )
    by = {(p.task, p.row, p.seed): p.pick for p in replay.picks}

    def side(rows: Sequence[str]) -> list[np.ndarray]:
        return [
            np.array([[by[(t.task, r, s)] for r in rows] for s in range(replay.settings.seeds)])
            for t in replay.tables
        ]

    out = []
    for axis, within, a, b, rows_a, rows_b in _designs(replay):
        for metric in METRICS:
            c = boot.compare(a, b, metric, side(rows_a), side(rows_b))
            out.append({**c, "axis": axis, **({"within": within} if within else {})})
    return out


def _designs(replay: Replay) -> list[tuple[str, str | None, str, str, list[str], list[str]]]:
    """``(axis, within, a, b, rows of a, rows of b)`` of every comparison."""
    rows = replay.rows()
    if not replay.settings.ablation:
        pairs: list[tuple[str, str]] = []
        if "random" in rows:
            pairs += [(r, "random") for r in rows if r != "random"]
        lead = "dro" if "dro" in rows else rows[0]
        pairs += [(lead, r) for r in rows if r not in (lead, "random")]
        return [("method", None, a, b, [a], [b]) for a, b in pairs]
    pairs3 = one_axis_pairs(replay.axes)
    out: list[tuple[str, str | None, str, str, list[str], list[str]]] = [
        (axis, None, a, b, [a], [b]) for axis, a, b in pairs3
    ]
    for axis, within, hi, lo, cells in main_effect_cells(replay.axes):
        out.append((axis, within, hi, lo, [a for a, _ in cells], [b for _, b in cells]))
    return out
