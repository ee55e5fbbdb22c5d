"""``droiz bench sim``: the seed paper's ablation on the SIMULATED environment (no LLM).

Two designs, each with the same budget, seeds and ambiguity set for every row:

* the **methods** (default): ``dro`` (DRO-InstructZero), ``ei`` and ``ucb`` (InstructZero),
  ``random``, ``dro-nobo`` (DRO without BO), ``hybrid``, ``ucb-sum`` (``dro`` with the worst case
  replaced by the summed per-group bonus ``sum_t w_t (mu_t + beta sigma_t)``, i.e. radius 0, and
  nothing else changed) and ``ei-robust-select`` (EI's search with DRO's final criterion), every
  model-based one with the same group rule;
* the **factorial ablation** (``--ablation``): acquisition {``ucb`` (joint bonus), ``ucb-sum``
  (summed per-group bonus), ``robust-ucb`` (DRO)} x group rule {``reference``, ``adversarial``} x
  reference update {``fixed``, ``ema``}, 12 cells, every one with the robust final pick; every
  pair of cells that differ in one axis is compared.

Each run records the worst-group test accuracy of its own pick after every ``tell`` (every 25
evaluations). Sample efficiency is the area under that curve from the end of the initial design to
the budget (:func:`worst_group_auc`), and the evaluations until the pick reaches the target row's
final worst-group accuracy on the same seed (``None``: not within the budget, ">budget").
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from droiz.axes import DEFAULT_GROUP_RULE, GROUP_RULE_CHOICES, REFERENCE_UPDATES
from droiz.bench.paired import compare
from droiz.optim import EngineConfig
from droiz.sim.demo import RunResult, Search, method_searches, searches_axes, to_json

SEARCH_METHODS = ("dro", "ei", "ucb", "random", "dro-nobo", "hybrid", "ucb-sum")
ROWS = ("dro", "ei", "ei-robust-select", "ucb", "random", "dro-nobo", "hybrid", "ucb-sum")
ACQUISITIONS = {"ucb": "ucb", "ucb-sum": "ucb-sum", "robust-ucb": "dro"}
"""The ablation's acquisition axis: its value and the method whose acquisition it is."""
ABLATION_AXES = {
    "acquisition": tuple(ACQUISITIONS),
    "group_rule": GROUP_RULE_CHOICES,
    "reference_update": REFERENCE_UPDATES,
}
METRICS = ("worst_group_acc", "mean_acc", "worst_group_auc")
"""The metrics every comparison is made on."""
N_INIT = EngineConfig.n_init
"""The initial design's size (the engine's default): sample efficiency starts there."""


def methods_design(group_rule: str = DEFAULT_GROUP_RULE) -> list[Search]:
    """The methods' searches (``ei`` also yields ``ei-robust-select``)."""
    return method_searches(SEARCH_METHODS, group_rule)


def cell_name(acquisition: str, group_rule: str, reference_update: str) -> str:
    """``"robust-ucb/adversarial/ema"``."""
    return f"{acquisition}/{group_rule}/{reference_update}"


def ablation_design() -> list[Search]:
    """The 12 cells of the factorial ablation, each with the robust final pick."""
    searches = []
    for acq, rule, update in itertools.product(*ABLATION_AXES.values()):
        options = (
            ("group_selection", rule),
            ("reference_update", update),
            ("final_pick", "robust"),
        )
        picks = ((cell_name(acq, rule, update), None),)
        searches.append(Search(ACQUISITIONS[acq], options, picks))
    return searches


def one_axis_pairs(axes: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str, str]]:
    """``(axis, a, b)`` for every pair of rows that differ in exactly one ablation axis, ``a``
    the later level of that axis (``robust-ucb`` before ``ucb-sum`` before ``ucb``,
    ``adversarial`` before ``reference``, ``ema`` before ``fixed``)."""
    order = {axis: {v: i for i, v in enumerate(values)} for axis, values in ABLATION_AXES.items()}
    pairs = []
    for a, b in itertools.combinations(axes, 2):
        differ = [k for k in ABLATION_AXES if axes[a][k] != axes[b][k]]
        if len(differ) != 1:
            continue
        axis = differ[0]
        if order[axis][axes[a][axis]] < order[axis][axes[b][axis]]:
            a, b = b, a
        pairs.append((axis, a, b))
    return sorted(pairs, key=lambda p: (list(ABLATION_AXES).index(p[0]), p[1], p[2]))


def main_effect_cells(
    axes: Mapping[str, Mapping[str, str]],
) -> list[tuple[str, str, str, str, list[tuple[str, str]]]]:
    """``(axis, within, a, b, cells)`` of each axis's main effect, overall (``within="all"``)
    and within each level of the acquisition: ``a`` and ``b`` the two levels (``a`` the later,
    as in :func:`one_axis_pairs`) and ``cells`` the one-axis pairs of rows that make it."""
    pairs = one_axis_pairs(axes)
    out = []
    for axis in ABLATION_AXES:
        levels = {(axes[a][axis], axes[b][axis]) for x, a, b in pairs if x == axis}
        for hi, lo in sorted(levels, key=lambda p: [ABLATION_AXES[axis].index(v) for v in p]):
            chosen = [(a, b) for x, a, b in pairs if x == axis and axes[a][axis] == hi]
            chosen = [(a, b) for a, b in chosen if axes[b][axis] == lo]
            scopes = ["all"] + ([] if axis == "acquisition" else list(ACQUISITIONS))
            for within in scopes:
                cells = [(a, b) for a, b in chosen if within in ("all", axes[a]["acquisition"])]
                if cells:
                    out.append((axis, within, hi, lo, cells))
    return out


def main_effects(
    rows: Mapping[str, Sequence[RunResult]],
    axes: Mapping[str, Mapping[str, str]],
    metrics: Sequence[str] = METRICS,
) -> list[dict[str, Any]]:
    """Each axis's effect averaged over the cells of the factorial, overall and within each level
    of the acquisition (:func:`main_effect_cells`): per seed, the mean of ``a - b`` over the
    one-axis pairs of that axis (and acquisition), compared like :func:`comparisons` (``a``,
    ``b``: the two levels; ``within``: ``all`` or the acquisition)."""
    out = []
    for axis, within, hi, lo, cells in main_effect_cells(axes):
        for metric in metrics:
            a_mean = _mean_over([_metric(rows[a], metric) for a, _ in cells])
            b_mean = _mean_over([_metric(rows[b], metric) for _, b in cells])
            c = compare(hi, lo, metric, a_mean, b_mean)
            out.append({"axis": axis, "within": within, **c})
    return out


def _mean_over(columns: Sequence[Sequence[float]]) -> list[float]:
    """The per-seed mean over several rows' per-seed values."""
    return [statistics.fmean(values) for values in zip(*columns, strict=True)]


def worst_group_auc(checkpoints: Sequence[tuple[int, float]], start: int = N_INIT) -> float:
    """The area under the worst-group curve from ``start`` evaluations to the last checkpoint
    (the budget), by the trapezoid rule over evaluations, divided by its width: the average
    worst-group accuracy of the pick over the search, in the accuracy's own unit.

    Args:
        checkpoints: ``(evaluations, worst-group accuracy)`` after every tell, in order; one of
            them must be at ``start`` (the end of the initial design).
    """
    points = [(n, acc) for n, acc in checkpoints if n >= start]
    if not points or points[0][0] != start or len(points) < 2:
        raise ValueError(
            f"need checkpoints at {start} evaluations (the end of the initial design) and after "
            f"it, got {[n for n, _ in checkpoints]}"
        )
    n, acc = np.array(points, dtype=np.float64).T
    return float(np.trapezoid(acc, n) / (n[-1] - n[0]))


def evaluations_to_target(
    rows: Mapping[str, Sequence[RunResult]], target: str
) -> dict[str, list[int | None]]:
    """Per row and seed: evaluations until the pick reaches the ``target`` row's final
    worst-group accuracy on that seed (``None``: not within the budget)."""
    goals = [r.worst_group_acc for r in rows[target]]
    return {
        name: [
            next((n for n, acc in run.checkpoints if acc >= goal - 1e-12), None)
            for run, goal in zip(runs, goals, strict=True)
        ]
        for name, runs in rows.items()
    }


def median_evaluations(values: Sequence[int | None], budget: int) -> str:
    """The median with the seeds that never reached the target counted as ">budget"."""
    median = statistics.median(math.inf if v is None else v for v in values)
    return f">{budget}" if math.isinf(median) else f"{median:g}"


def comparisons(
    rows: Mapping[str, Sequence[RunResult]],
    pairs: Sequence[tuple[str, str, str]],
    metrics: Sequence[str] = METRICS,
) -> list[dict[str, Any]]:
    """:func:`~droiz.bench.paired.compare` of each ``(axis, a, b)`` on every metric, in points
    (``axis`` added to each)."""
    out = []
    for axis, a, b in pairs:
        for metric in metrics:
            c = compare(a, b, metric, _metric(rows[a], metric), _metric(rows[b], metric))
            out.append({"axis": axis, **c})
    return out


def _metric(runs: Sequence[RunResult], metric: str) -> list[float]:
    if metric == "worst_group_auc":
        return [worst_group_auc(r.checkpoints) for r in runs]
    return [getattr(r, metric) for r in runs]


def design_json(
    rows: Mapping[str, Sequence[RunResult]],
    searches: Sequence[Search],
    budget: int,
    seeds: Sequence[int],
    ablation: bool,
) -> dict[str, Any]:
    """The ``--json`` payload: the demo's schema (each row also with ``worst_group_auc``), the
    ``comparisons`` (points) and ``efficiency``."""
    axes = searches_axes(searches)
    auc = {name: _metric(runs, "worst_group_auc") for name, runs in rows.items()}
    payload = to_json(rows, budget, seeds, axes, {"worst_group_auc": auc})
    if ablation:
        pairs = one_axis_pairs(axes)
        target = cell_name("ucb", "reference", "fixed")
    else:
        pairs = [("method", "dro", other) for other in rows if other != "dro"]
        target = "ei"
    payload["comparisons"] = comparisons(rows, pairs)
    if ablation:
        payload["main_effects"] = main_effects(rows, axes)
    payload["efficiency"] = {
        "start": N_INIT,
        "target": target,
        "evaluations_to_target": evaluations_to_target(rows, target),
    }
    return payload
