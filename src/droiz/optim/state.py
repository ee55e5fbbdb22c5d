"""``RobustBO.state_dict()`` and ``load_state_dict()``: a JSON-ready snapshot of the engine.

Everything random is derived from the run seed and the counters saved here. The GP's fitted
hyperparameters are saved too (``fit.result``): while no new data arrives, a restored engine
conditions its GP on them instead of refitting, and the next fit starts from them. So a restored
engine asks exactly what the original would have asked, mid-round included (the open proposal,
its untold rows and its acquisition weights are saved), and nothing is re-guessed by refitting.

``environment`` names the library versions and the platform the snapshot was taken on: a
restore elsewhere resumes all the same, but only the same environment guarantees bit-exactness.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import platform
import sys
from importlib import metadata
from typing import Any, Protocol

import torch

from droiz.exceptions import ConfigError
from droiz.optim.candidates import candidate_index
from droiz.optim.config import EngineConfig
from droiz.optim.observations import Observations
from droiz.optim.proposal import Proposal
from droiz.surrogate.model import GroupGP

_PACKAGES = ("botorch", "gpytorch", "numpy")
logger = logging.getLogger(__name__)


def environment() -> dict[str, Any]:
    """The library versions, platform and torch threads that floating-point results depend on."""
    from droiz import __version__

    versions: dict[str, str | None] = {"droiz": __version__, "torch": str(torch.__version__)}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return {
        "versions": versions,
        "platform": {
            "system": platform.system(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "python_implementation": sys.implementation.name,
            "torch_threads": torch.get_num_threads(),
        },
    }


class EngineState(Protocol):
    """What a snapshot saves and restores of a :class:`~droiz.optim.engine.RobustBO` (a protocol:
    the engine imports this module, which does not import it back)."""

    config: EngineConfig
    obs: Observations
    reference: torch.Tensor
    round: int
    n_proposals: int
    n_design: int
    n_sobol: int
    last_acquisition_weights: torch.Tensor | None
    candidates: torch.Tensor | None
    _open: Proposal | None
    _untold: torch.Tensor
    _buffer: list[int]
    _last_ybar: torch.Tensor
    _hyper: dict[str, torch.Tensor]
    _warm: dict[str, torch.Tensor]
    _fit_n: int
    _fit_current: bool
    _fit_wstar: torch.Tensor | None
    _gp: tuple[int, GroupGP] | None
    _wstar: torch.Tensor | None


def save_state(engine: EngineState) -> dict[str, Any]:
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
            "current": engine._fit_current,
            "start": {k: v.tolist() for k, v in engine._warm.items()},
            "result": {k: v.tolist() for k, v in engine._hyper.items()},
            "wstar": None if engine._fit_wstar is None else engine._fit_wstar.tolist(),
        },
        "wstar": None if engine._wstar is None else engine._wstar.tolist(),
        "acquisition_weights": _list(engine.last_acquisition_weights),
        "environment": environment(),
    }


def _list(t: torch.Tensor | None) -> object:
    return None if t is None else t.tolist()


def _tensor(v: object) -> torch.Tensor | None:
    return None if v is None else torch.tensor(v, dtype=torch.float64)


def load_state(engine: EngineState, state: dict[str, Any]) -> None:
    """Restore ``state`` into ``engine`` (whose configuration must match)."""
    config = EngineConfig.from_dict(state["config"])
    if config.resumes_as(engine.config):  # saved by an older droiz: keep its group rule
        logger.info("the saved run uses group_selection='auto' (an older droiz); resuming with it")
        engine.config = config
    elif config != engine.config:
        raise ConfigError(
            "the saved state was made with a different configuration; create the RobustBO "
            "with the saved config (RobustBO.from_state_dict(state)) instead"
        )
    engine.obs = Observations.from_dict(state["observations"], engine.config)
    engine.reference = torch.tensor(state["reference"], dtype=torch.float64)
    engine.round, engine.n_proposals = int(state["round"]), int(state["n_proposals"])
    engine.n_design, engine.n_sobol = int(state["n_design"]), int(state["n_sobol"])
    engine._open = None if state["open"] is None else Proposal.from_dict(state["open"])
    if engine._open is not None and engine.candidates is not None:  # the candidates of its z
        index = candidate_index(engine.candidates, engine._open.z)
        engine._open = dataclasses.replace(engine._open, index=index)
    engine._untold = torch.tensor(state["untold"], dtype=torch.bool).reshape(-1)
    engine._buffer = [int(i) for i in state["buffer"]]
    last = [float("nan") if v is None else v for v in state["last_ybar"]]
    engine._last_ybar = torch.tensor(last, dtype=torch.float64)
    fit = state["fit"]
    engine._fit_n = int(fit["n"])
    engine._warm = {k: torch.tensor(v, dtype=torch.float64) for k, v in fit["start"].items()}
    engine._hyper = {k: torch.tensor(v, dtype=torch.float64) for k, v in fit["result"].items()}
    engine._fit_current = bool(fit.get("current", False))  # older snapshots: refit
    engine._fit_wstar = _tensor(fit.get("wstar"))
    engine._wstar = _tensor(state.get("wstar"))
    engine.last_acquisition_weights = _tensor(state.get("acquisition_weights"))
    engine._gp = None
