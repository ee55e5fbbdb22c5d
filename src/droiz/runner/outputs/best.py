"""The best-so-far ``best.json`` of a run stopped at a cap (``--max-requests`` and friends).

A run that stops at a cap has no verified finalists and no test evaluation yet. Its
``best.json`` then holds the engine's current pick after the last finished round, with the
robust value the engine estimates for it; before any round finished, the completed evaluation
whose observed groups have the best worst case. ``status`` says it is not final, ``stopped_by``
names the cap, and ``test`` is ``null``. Resuming with a higher cap replaces it with the final
``best.json``.
"""

from __future__ import annotations

from typing import Any

from droiz.runner.outputs.summary import observed_worst


def best_so_far(study: Any, cap: str) -> dict[str, Any]:
    """The ``best.json`` payload of ``study`` (a :class:`~droiz.runner.loop.study.Study`, not
    imported here: ``study`` imports this module) stopped at ``cap``."""
    settings, names = study.saved["settings"], study.columns.names
    done = [*study.state.outcomes, *study.state.partial.values(), *study._completed]
    payload: dict[str, Any] = {
        "status": "stopped at cap",
        "stopped_by": cap,
        "instruction": None,
        "robust_value": None,
        "evaluation": None,
        "evaluations_done": len({o.index for o in done}),
        "method": settings["method"],
        "ambiguity": settings["ambiguity"],
        "task": list(settings["task"]),
        "seed": settings["seed"],
        "budget": settings["budget"],
        "groups": list(names),
        "test": None,
    }
    summary = study.summary
    if summary is not None:
        pick = study.state.outcomes[summary.index]
        payload.update(
            instruction=pick.instruction,
            robust_value=summary.robust_value,
            criterion="engine estimate",
            evaluation=pick.index,
            round=pick.round,
            dev={names[k]: v for k, v in sorted(pick.group_means().items())},
            worst_case_weights=summary.weights,
        )
    elif done:
        scored = [(observed_worst(study.engine, o)[0], -o.index, o) for o in done if o.scores]
        if scored:
            value, _, pick = max(scored, key=lambda t: (t[0], t[1]))
            payload.update(
                instruction=pick.instruction,
                robust_value=value,
                criterion="observed groups",
                evaluation=pick.index,
                round=pick.round,
                dev={names[k]: v for k, v in sorted(pick.group_means().items())},
            )
    return payload
