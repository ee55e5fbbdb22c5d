"""The runner's side of the engine: its settings, telling it outcomes, and state snapshots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from droiz import __version__
from droiz.optim import EngineConfig, RobustBO
from droiz.runner.loop.outcomes import Outcome, ScoreColumns, engine_inputs
from droiz.runner.problem import Problem
from droiz.runner.settings.config import RunConfig
from droiz.surrogate.build import KERNELS


def engine_config(
    config: RunConfig, problem: Problem, candidates: Sequence[Sequence[float]] | None = None
) -> EngineConfig:
    """The engine settings of a run; ``candidates``: the features of a pool's candidates, which
    the search then runs over (their width is the engine's ``dim``)."""
    return EngineConfig(
        dim=config.dim if candidates is None else len(candidates[0]),
        candidates=None if candidates is None else tuple(tuple(r) for r in candidates),
        n_groups=problem.n_groups,
        method=config.method,
        ambiguity=config.ambiguity,
        budget=config.budget,
        seed=config.seed,
        reference=problem.reference,
        groups_per_round=config.groups_per_round,
        kernel=str(config.kernel),
        surrogate=str(config.surrogate),
        example_groups=tuple(problem.example_groups),
        n_init=config.n_init,
        batch_size=config.batch_size,
        **{"group_selection": config.group_rule, **config.engine},
    )


def run_axes(config: RunConfig) -> dict[str, str]:
    """The four axes (:mod:`droiz.axes`) of the method of a run with these settings, without
    loading its task."""
    engine = {"group_selection": config.group_rule, **config.engine}
    keys = ("group_selection", "reference_update", "final_pick")
    return EngineConfig(method=config.method, **{k: engine[k] for k in keys if k in engine}).axes()


def resumed_engine_config(saved: Mapping[str, Any], current: EngineConfig) -> EngineConfig:
    """The engine configuration a resumed run continues with: the one its ``config.json`` saved
    (``resolved.engine``), so the run keeps what it started with. A run saved before the group
    rule was a setting of its own keeps ``group_selection="auto"`` even when it stopped before
    its first engine snapshot; a candidate search keeps its candidates' features exactly; a pool
    run saved without candidates (an older droiz) keeps the random-anchor mapping. ``current``
    (the configuration the settings give now) where ``config.json`` holds none."""
    engine = saved.get("resolved", {}).get("engine")
    return current if engine is None else EngineConfig.from_dict(engine)


def saved_config(config: RunConfig, problem: Problem, engine: RobustBO) -> dict[str, Any]:
    """The ``config.json`` payload: the settings and what they resolved to."""
    tasks = [{"name": t.name, "metric": t.metric, "sizes": t.sizes} for t in problem.tasks]
    return {
        "droiz_version": __version__,
        "settings": config.to_dict(),
        "resolved": {
            "groups": problem.saved_groups(),
            "reference": list(problem.reference),
            "engine": engine.config.to_dict(),
            "tasks": tasks,
        },
    }


def tell_engine(
    engine: RobustBO, outcomes: Sequence[Outcome], columns: ScoreColumns, *, external: bool = False
) -> None:
    """Tell the engine completed outcomes (with what its kernel needs); ``external``: outcomes
    of earlier rounds told to a fresh engine (restoring a run)."""
    own = engine.candidates is not None  # a candidate search: each (instruction, group) once
    z, y, mask, scores, emb = engine_inputs(outcomes, columns, engine.config.n_groups, own)
    needs = KERNELS.get(engine.config.kernel).needs
    engine.tell(
        z,
        y,
        mask,
        scores=scores if "scores" in needs else None,
        embeddings=emb if "embeddings" in needs else None,
        external=external,
    )


def engine_snapshot(engine: RobustBO) -> dict[str, Any]:
    """The engine's state without its observations (which the journal's evaluations hold).

    Taken after ``tell`` and the round summary (so it holds the GP's hyperparameters fitted to
    every evaluation told), or after ``ask``: restoring it and conditioning the GP on the
    journal's observations reproduces the original engine exactly, with no refit.
    """
    state = engine.state_dict()
    state.pop("observations")
    return state


def engine_from_saved(saved: dict[str, Any]) -> RobustBO:
    """A fresh engine with the configuration saved in ``config.json``."""
    return RobustBO(**EngineConfig.from_dict(saved["resolved"]["engine"]).constructor_kwargs())
