"""``RobustBO``: the ask/tell engine of DRO-InstructZero and its baselines.

One *evaluation* is one soft prompt told with the groups it was evaluated on; ``budget`` counts
evaluations. One *round* is one :meth:`RobustBO.ask` call, counted from 1.

Rules (all documented in ``docs/engine.md``):

* the first ``n_init`` (25) asked points are scrambled Sobol points; ``random`` and ``dro-nobo``
  continue the same Sobol sequence for the whole budget;
* afterwards every round fits the shared-hyperparameter GP over the K groups, builds the method's
  acquisition, and runs CMA-ES from the best evaluated points (by the method's own final-pick
  criterion), returning ``n`` distinct candidates not yet evaluated;
* group subsampling: each evaluation observes ``groups_per_round`` groups. In the initial design the
  groups rotate so that each is covered equally often; later each evaluation draws its groups
  without replacement with probabilities proportional to the current reference weights (seeded by
  run seed and round). :attr:`RobustBO.pending_groups` holds the mask for the last ``ask``;
* after every ``tell`` the reference weights follow the EMA of ``droiz.optim.reference``.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from droiz.acquisition import beta_schedule
from droiz.ambiguity import AmbiguitySet, KLBall, parse_ambiguity
from droiz.exceptions import ConfigError
from droiz.optim import acquire
from droiz.optim.config import EngineConfig
from droiz.optim.observations import Observations
from droiz.optim.reference import initial_groups, round_ybar, sampled_groups, update_reference
from droiz.optim.selection import observed_scores, posterior_scores
from droiz.optim.sobol import sobol_points
from droiz.surrogate.build import (
    SCORE_KERNELS,
    WSTAR_KERNEL,
    hyperparameters,
    incumbent_weights,
    make_gp,
)
from droiz.surrogate.model import GroupGP

logger = logging.getLogger(__name__)


class Best(NamedTuple):
    """The final pick among the evaluated soft prompts.

    Attributes:
        index: Row of the pick in the order of ``tell``. z: ``d`` the soft prompt.
        value: Its score under ``selection``. selection: The criterion used.
        scores: ``n`` the score of every evaluated point under ``selection``.
    """

    index: int
    z: Tensor
    value: float
    selection: str
    scores: Tensor


def derive_seed(*parts: int) -> int:
    """A 63-bit seed derived from the run seed and counters (round, search index, ...)."""
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


class RobustBO:
    r"""Distributionally robust Bayesian optimisation over a soft prompt, ask/tell.

    Args:
        dim: Soft-prompt dimension ``d``.
        n_groups: Number of groups ``K``.
        method: ``"dro"``, ``"ei"``, ``"ucb"``, ``"hybrid"``, ``"random"`` or ``"dro-nobo"``.
        ambiguity: An :class:`~droiz.ambiguity.AmbiguitySet` or a spec such as ``"kl:0.1"``.
        budget: Number of evaluations.
        seed: Run seed; every random component derives its seed from it.
        **options: Any other field of :class:`~droiz.optim.config.EngineConfig` (``reference``,
            ``reference_update``, ``eta``, ``delta``, ``n_init``, ``groups_per_round``,
            ``kernel``, ``example_groups``, ``hybrid_start``, ``hybrid_end``, CMA-ES settings).

    Example:
        >>> bo = RobustBO(dim=10, n_groups=4, method="dro", ambiguity=KLBall(0.1), budget=150)
        >>> while not bo.done:
        ...     z = bo.ask(25)
        ...     y = evaluate(z, bo.pending_groups)  # n x K, NaN where not evaluated
        ...     bo.tell(z, y, bo.pending_groups)
        >>> bo.best().z
    """

    def __init__(
        self,
        dim: int = 10,
        n_groups: int = 2,
        method: str = "dro",
        ambiguity: AmbiguitySet | str | None = None,
        budget: int = 150,
        seed: int = 0,
        **options: Any,
    ) -> None:
        amb = ambiguity if ambiguity is not None else KLBall(0.1)
        self.ambiguity = parse_ambiguity(amb) if isinstance(amb, str) else amb
        self.config = EngineConfig(
            dim=dim,
            n_groups=n_groups,
            method=method,
            ambiguity=self.ambiguity.to_spec(),
            budget=budget,
            seed=seed,
            **options,
        )
        self.obs = Observations(dim, n_groups)
        self.reference = self.config.initial_reference()
        self.round = 0
        self.n_asked = 0
        self.n_sobol = 0
        self.pending_groups = torch.zeros(0, n_groups, dtype=torch.bool)
        self._last_ybar = torch.full((n_groups,), float("nan"), dtype=torch.float64)
        self._hyper: dict[str, Tensor] = {}  # result of the last fit: a fit on new data starts here
        self._warm: dict[str, Tensor] = {}  # where the last fit started
        self._fit_n = -1  # number of evaluations the last fit saw
        self._gp: tuple[int, GroupGP] | None = None
        self.last_acquisition_weights: Tensor | None = None
        self._wstar: Tensor | None = None  # coupled-scores-wstar: w* of the last incumbent

    # ------------------------------------------------------------------ state
    @property
    def n_evaluations(self) -> int:
        """Evaluations told so far."""
        return len(self.obs)

    @property
    def remaining(self) -> int:
        return self.config.budget - self.n_evaluations

    @property
    def done(self) -> bool:
        return self.remaining <= 0

    @property
    def method(self) -> str:
        return self.config.method

    # -------------------------------------------------------------------- ask
    def ask(self, n: int | None = None) -> Tensor:
        """Propose ``n`` (default ``batch_size``) distinct soft prompts, ``n x d`` in ``[-1, 1]``.

        ``n`` is clipped to the remaining budget. The groups to evaluate each point on are in
        :attr:`pending_groups` afterwards.
        """
        n = self.config.batch_size if n is None else int(n)
        if n < 1:
            raise ConfigError(f"ask(n) needs n >= 1, got {n}")
        if self.done:
            raise ConfigError(
                f"the budget of {self.config.budget} evaluations is used up; call best() or "
                f"create a RobustBO with a larger budget"
            )
        n = min(n, self.remaining)
        self.round += 1
        if self._use_sobol():
            z = sobol_points(self.config.dim, n, self.config.seed, skip=self.n_sobol)
            self.n_sobol += n
            groups = self._initial_groups(n) if self.n_asked < self.config.n_init else None
        else:
            z = self._ask_bo(n)
            groups = self._adversarial_groups(z) if self._adversarial() else None
        if groups is None:
            seed = derive_seed(self.config.seed, self.round, 1)
            groups = sampled_groups(n, self.reference, self.config.groups_per_round, seed)
        self.n_asked += n
        self.pending_groups = groups
        return z

    def _use_sobol(self) -> bool:
        if self.method in ("random", "dro-nobo"):
            return True
        return self.n_asked < self.config.n_init or self.n_evaluations == 0

    def _initial_groups(self, n: int) -> Tensor:
        offset = derive_seed(self.config.seed, 0) % self.config.n_groups
        per = self.config.groups_per_round
        return initial_groups(self.n_asked + n, self.config.n_groups, per, offset)[-n:]

    def _adversarial(self) -> bool:
        rule = self.config.group_selection
        return rule == "adversarial" or (rule == "auto" and self.method in ("dro", "hybrid"))

    def _adversarial_groups(self, z: Tensor) -> Tensor:
        """Per candidate, the groups with the lowest lower confidence bound ``mu - beta sigma``:
        those where it is most likely weak (largest worst-case weight of the pessimistic bound)."""
        mean, var = self._fitted_gp().predict(z)
        lcb = mean - beta_schedule(self.round) * var.sqrt()
        per = min(self.config.groups_per_round, self.config.n_groups)
        idx = torch.argsort(lcb, dim=-1, stable=True)[:, :per]
        return torch.zeros_like(lcb, dtype=torch.bool).scatter(-1, idx, True)

    def _ask_bo(self, n: int) -> Tensor:
        gp = self._fitted_gp()
        acq = acquire.build(self, gp)
        starts = self._starts(gp)
        z, weights = acquire.search(self, acq, starts, n)
        self.last_acquisition_weights = weights
        self._update_wstar(gp)
        return z

    # --- coupled-scores-wstar (issue 10 item 3): w* of this round's incumbent, for the next fit
    def _update_wstar(self, gp: GroupGP) -> None:
        if self.config.kernel != WSTAR_KERNEL:
            return
        selection = self.config.final_selection()
        selection = "robust" if selection.startswith("observed") else selection
        mean, _ = gp.predict(self.obs.z)
        scores = posterior_scores(selection, gp, self.obs.z, self.ambiguity, self.reference)
        self._wstar = incumbent_weights(mean, scores, self.ambiguity, self.reference)

    def _starts(self, gp: GroupGP) -> Tensor:
        scores = self._scores(self.config.search_selection(), gp)
        k = min(self.config.cma_starts, len(scores))
        return self.obs.z[torch.argsort(scores, descending=True, stable=True)[:k]]

    # ------------------------------------------------------------------- tell
    def tell(
        self,
        z: Tensor,
        y: Tensor,
        groups: Tensor,
        scores: Tensor | None = None,
        *,
        embeddings: Tensor | None = None,
    ) -> None:
        """Record evaluations and update the reference weights.

        Args:
            z: ``n x d`` evaluated soft prompts in ``[-1, 1]^d``.
            y: ``n x K`` observed per-group means; NaN (or any value) where not observed.
            groups: ``n x K`` boolean mask of the evaluated groups (at least one per row).
            scores: ``n x E`` per-example scores (NaN for examples of unevaluated groups), needed
                by ``kernel="coupled-scores"``; examples map to groups by ``example_groups``.
            embeddings: ``n x D`` instruction embeddings, needed by ``kernel="coupled-semantic"``.
        """
        if len(z) > self.remaining:
            raise ConfigError(
                f"tell() got {len(z)} evaluations but only {self.remaining} remain in the budget "
                f"of {self.config.budget}; tell fewer or use a larger budget"
            )
        if self.config.kernel in SCORE_KERNELS and scores is None:
            raise ConfigError(
                "kernel 'coupled-scores' needs the per-example scores: tell(..., scores=)"
            )
        if self.config.kernel == "coupled-semantic" and embeddings is None:
            raise ConfigError("kernel 'coupled-semantic' needs tell(..., embeddings=...)")
        added = self.obs.add(z, y, groups, scores=scores, embeddings=embeddings)
        self._update_reference(added.y, added.mask)

    def _update_reference(self, y: Tensor, mask: Tensor) -> None:
        fallback = torch.where(torch.isnan(self._last_ybar), self.obs.y_mean(), self._last_ybar)
        ybar = round_ybar(y, mask, fallback)
        self._last_ybar = torch.where(mask.any(0), ybar, self._last_ybar)
        if self.config.updates_reference():
            self.reference = update_reference(
                self.reference, ybar, eta=self.config.eta, delta=self.config.delta
            )

    # ------------------------------------------------------------------- best
    def best(self, selection: str | None = None) -> Best:
        """The method's own final pick among the evaluated points (or by ``selection``)."""
        if self.n_evaluations == 0:
            raise ConfigError("best() needs at least one evaluation; tell() some first")
        selection = selection or self.config.final_selection()
        scores = self._scores(selection, None)
        index = int(torch.argmax(scores))
        return Best(index, self.obs.z[index].clone(), float(scores[index]), selection, scores)

    def _scores(self, selection: str, gp: GroupGP | None) -> Tensor:
        if selection.startswith("observed"):
            return observed_scores(
                selection, self.obs.y, self.obs.mask, self.ambiguity, self.reference
            )
        gp = gp or self._fitted_gp()
        return posterior_scores(selection, gp, self.obs.z, self.ambiguity, self.reference)

    def posterior(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance (``b x K`` each) of every group at ``z`` (``b x d``)."""
        return self._fitted_gp().predict(z)

    def _fitted_gp(self) -> GroupGP:
        if self._gp is not None and self._gp[0] == self.n_evaluations:
            return self._gp[1]
        weights = self.reference if self._wstar is None else self._wstar
        features, omega = self.obs.features(self.config, weights)
        if self._fit_n != self.n_evaluations:  # new data; else redo the last fit (after a restore)
            self._warm = self._hyper
        gp = make_gp(
            self.config.kernel,
            self.obs.z,
            self.obs.y_nan(),
            features=features,
            omega=omega,
            warm_start=self._warm,
            maxiter=self.config.fit_maxiter,
            surrogate=self.config.surrogate,
        )
        self._hyper = hyperparameters(gp)
        self._fit_n = self.n_evaluations
        self._gp = (self.n_evaluations, gp)
        return gp

    # ---------------------------------------------------------- serialisation
    def state_dict(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot; a restored engine asks exactly what this one would."""
        return {
            "config": self.config.to_dict(),
            "observations": self.obs.to_dict(),
            "reference": self.reference.tolist(),
            "round": self.round,
            "n_asked": self.n_asked,
            "n_sobol": self.n_sobol,
            "last_ybar": [None if np.isnan(v) else v for v in self._last_ybar.tolist()],
            "fit": {
                "n": self._fit_n,
                "start": {k: v.tolist() for k, v in self._warm.items()},
                "result": {k: v.tolist() for k, v in self._hyper.items()},
            },
            "pending_groups": self.pending_groups.tolist(),
            "wstar": None if self._wstar is None else self._wstar.tolist(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a snapshot from :meth:`state_dict` (the configuration must match)."""
        config = EngineConfig.from_dict(state["config"])
        if config != self.config:
            raise ConfigError(
                "the saved state was made with a different configuration; create the RobustBO "
                "with the saved config (RobustBO.from_state_dict(state)) instead"
            )
        self.obs = Observations.from_dict(state["observations"], self.config)
        self.reference = torch.tensor(state["reference"], dtype=torch.float64)
        self.round, self.n_asked = int(state["round"]), int(state["n_asked"])
        self.n_sobol = int(state["n_sobol"])
        last = [float("nan") if v is None else v for v in state["last_ybar"]]
        self._last_ybar = torch.tensor(last, dtype=torch.float64)
        fit = state["fit"]
        self._fit_n = int(fit["n"])
        self._warm = {k: torch.tensor(v, dtype=torch.float64) for k, v in fit["start"].items()}
        self._hyper = {k: torch.tensor(v, dtype=torch.float64) for k, v in fit["result"].items()}
        k = self.config.n_groups
        groups = torch.tensor(state["pending_groups"], dtype=torch.bool).reshape(-1, k)
        self.pending_groups = groups
        wstar = state.get("wstar")
        self._wstar = None if wstar is None else torch.tensor(wstar, dtype=torch.float64)
        self._gp = None

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> RobustBO:
        """A new engine with the saved configuration and state."""
        cfg = EngineConfig.from_dict(state["config"])
        engine = cls(**cfg.constructor_kwargs())
        engine.load_state_dict(state)
        return engine
