"""``RobustBO.state_dict()`` and ``load_state_dict()``: a JSON-ready snapshot of the engine.

Everything random is derived from the run seed and the counters saved here, and the surrogate
fit restarts from the saved hyperparameters, so a restored engine asks exactly what the original
would have asked, mid-round included (the open proposal and its untold rows are saved).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from droiz.exceptions import ConfigError
from droiz.optim.config import EngineConfig
from droiz.optim.observations import Observations
from droiz.optim.proposal import Proposal


def save_state(engine: Any) -> dict[str, Any]:
    """The snapshot of a :class:`~droiz.optim.engine.RobustBO`."""
    return {
        "config": engine.config.to_dict(),
        "observations": engine.obs.to_dict(),
        "reference": engine.reference.tolist(),
        "round": engine.round,
        "n_proposals": engine.n_proposals,
        "n_design": engine.n_design,
        "n_sobol": engine.n_sobol,
        "open": None if engine._open is None else engine._open.to_dict(),
        "untold": engine._untold.tolist(),
        "buffer": list(engine._buffer),
        "last_ybar": [None if math.isnan(v) else v for v in engine._last_ybar.tolist()],
        "fit": {
            "n": engine._fit_n,
            "start": {k: v.tolist() for k, v in engine._warm.items()},
            "result": {k: v.tolist() for k, v in engine._hyper.items()},
        },
    }


def load_state(engine: Any, state: dict[str, Any]) -> None:
    """Restore ``state`` into ``engine`` (whose configuration must match)."""
    config = EngineConfig.from_dict(state["config"])
    if config != engine.config:
        raise ConfigError(
            "the saved state was made with a different configuration; create the RobustBO "
            "with the saved config (RobustBO.from_state_dict(state)) instead"
        )
    engine.obs = Observations.from_dict(state["observations"], engine.config)
    engine.reference = torch.tensor(state["reference"], dtype=torch.float64)
    engine.round, engine.n_proposals = int(state["round"]), int(state["n_proposals"])
    engine.n_design, engine.n_sobol = int(state["n_design"]), int(state["n_sobol"])
    engine._open = None if state["open"] is None else Proposal.from_dict(state["open"])
    engine._untold = torch.tensor(state["untold"], dtype=torch.bool).reshape(-1)
    engine._buffer = [int(i) for i in state["buffer"]]
    last = [float("nan") if v is None else v for v in state["last_ybar"]]
    engine._last_ybar = torch.tensor(last, dtype=torch.float64)
    fit = state["fit"]
    engine._fit_n = int(fit["n"])
    engine._warm = {k: torch.tensor(v, dtype=torch.float64) for k, v in fit["start"].items()}
    engine._hyper = {k: torch.tensor(v, dtype=torch.float64) for k, v in fit["result"].items()}
    engine._gp = None
