"""``RobustBO``: the ask/tell engine of DRO-InstructZero and its baselines.

One *evaluation* is one soft prompt told with the groups it was evaluated on; ``budget`` counts
evaluations. One *round* is one :class:`~droiz.optim.proposal.Proposal` (one ``ask``): round 0 is
the initial design, BO rounds count from 1. The rules are in ``docs/engine.md``:

* the initial design (``n_init`` points, scrambled Sobol, plus any ``external=True`` tells) is
  round 0; model-free methods (``random``, ``dro-nobo``) continue the Sobol sequence throughout;
* a BO round fits the surrogate, builds the method's acquisition from the fitted model and the
  round's frozen :class:`~droiz.optim.context.RoundContext`, runs CMA-ES from the best evaluated
  points by the method's final-pick criterion, and picks the groups by the method's group rule;
* beta and every derived seed depend on the round only; the reference EMA moves once per
  completed round, however its rows were split over ``tell`` calls;
* with ``candidates=`` (an ``N x d`` feature matrix) the search runs over those candidates:
  the design and the model-free methods walk a seeded permutation of them, a BO round maximises
  the acquisition exactly over them, and no (candidate, group) pair is observed twice
  (:mod:`droiz.optim.candidates`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import torch
from numpy.typing import ArrayLike
from torch import Tensor

from droiz.acquisition import beta_schedule
from droiz.ambiguity import AmbiguitySet, KLBall, ambiguity_from_config, ambiguity_to_config
from droiz.exceptions import ConfigError
from droiz.optim import acquire
from droiz.optim.candidates import (
    candidate_index,
    candidate_order,
    check_features,
    observed_pairs,
    scale_candidates,
)
from droiz.optim.config import EngineConfig
from droiz.optim.context import RoundContext, derive_seed
from droiz.optim.methods import Method
from droiz.optim.observations import Observations
from droiz.optim.proposal import Proposal, resolve_rows
from droiz.optim.reference import (
    initial_groups,
    normalise_scores,
    reference_groups,
    round_ybar,
    update_reference,
)
from droiz.optim.selection import SELECTIONS, Best
from droiz.optim.sobol import sobol_points
from droiz.optim.state import load_state, save_state
from droiz.surrogate import GroupGP
from droiz.surrogate.build import (
    KERNELS,
    WSTAR_KERNEL,
    KernelInputs,
    condition_gp,
    hyperparameters,
    incumbent_weights,
    make_gp,
)

logger = logging.getLogger(__name__)


class RobustBO:
    r"""Distributionally robust Bayesian optimisation over a soft prompt, ask/tell.

    Args:
        dim: Soft-prompt dimension ``d`` (default 10, or the width of ``candidates``).
        n_groups: Number of groups ``K``.
        method: A registered method: ``"dro"``, ``"ei"``, ``"ucb"``, ``"hybrid"``, ``"random"``,
            ``"dro-nobo"`` or one of your own (:func:`~droiz.optim.register_method`).
        ambiguity: An :class:`~droiz.ambiguity.AmbiguitySet`, a spec such as ``"kl:0.1"``, or a
            ``to_dict()`` mapping.
        budget: Number of evaluations.
        seed: Run seed; every random component derives its seed from it.
        candidates: ``N x d`` features of a finite set of candidates: the search runs over them
            (each proposal's ``index`` names its candidates, ``z`` their features scaled into
            ``[-1, 1]^d``), and no (candidate, group) pair is observed twice.
        **options: Any other field of :class:`~droiz.optim.config.EngineConfig`.

    Example:
        >>> bo = RobustBO(dim=10, n_groups=4, method="dro", ambiguity=KLBall(0.1), budget=150)
        >>> while not bo.stop():
        ...     p = bo.ask(25)
        ...     bo.tell(p, evaluate(p.z, p.groups))  # n x K, NaN where not evaluated
        >>> bo.result.z

        A search over a pool of ``N`` candidates with features ``F`` (``N x d``)::

        >>> bo = RobustBO(n_groups=3, method="ucb", budget=40, candidates=F)
        >>> p = bo.ask(5)   # p.index: the 5 candidates, p.groups: their unobserved groups
    """

    def __init__(
        self,
        dim: int | None = None,
        n_groups: int = 2,
        method: str = "dro",
        ambiguity: AmbiguitySet | str | dict[str, Any] | None = None,
        budget: int = 150,
        seed: int = 0,
        candidates: Tensor | ArrayLike | None = None,
        **options: Any,
    ) -> None:
        self.ambiguity = ambiguity_from_config(ambiguity if ambiguity is not None else KLBall(0.1))
        rows: tuple[tuple[float, ...], ...] | None = None
        if candidates is not None:
            rows = tuple(tuple(r) for r in check_features(candidates, dim).tolist())
            dim = len(rows[0])
        dim = 10 if dim is None else dim
        self.config = EngineConfig(
            dim=dim,
            n_groups=n_groups,
            method=method,
            ambiguity=ambiguity_to_config(self.ambiguity),
            budget=budget,
            seed=seed,
            candidates=rows,
            **options,
        )
        raw = self.config.candidates
        self.candidates: Tensor | None = (
            None if raw is None else scale_candidates(torch.tensor(raw, dtype=torch.float64))
        )
        """The candidates' features scaled into ``[-1, 1]^d`` (``None``: the box)."""
        self.obs = Observations(dim, n_groups)
        self.reference = self.config.initial_reference()
        self.round = 0  # round of the last proposal (0: the initial design)
        self.n_proposals = 0
        self.n_design = 0  # points of the initial design: asked in round 0, or told external
        self.n_sobol = 0
        self._open: Proposal | None = None
        self._untold = torch.zeros(0, dtype=torch.bool)
        self._buffer: list[int] = []  # told since the last EMA step: proposal row, -1 external
        self._last_ybar = torch.full((n_groups,), float("nan"), dtype=torch.float64)
        self._hyper: dict[str, Tensor] = {}  # result of the last fit: a fit on new data starts here
        self._warm: dict[str, Tensor] = {}  # where the last fit started
        self._fit_n = -1  # number of evaluations the last fit saw
        self._fit_current = False  # _hyper is the fit of the current data (rows and reference)
        self._fit_wstar: Tensor | None = None  # the w* the last fit used (coupled-scores-wstar)
        self._gp: tuple[int, GroupGP] | None = None
        self._wstar: Tensor | None = None  # coupled-scores-wstar: w* of the last incumbent
        self.last_acquisition_weights: Tensor | None = None

    # ------------------------------------------------------------------ state
    @property
    def method(self) -> str:
        return self.config.method

    @property
    def method_spec(self) -> Method:
        return self.config.method_spec()

    @property
    def n_evaluations(self) -> int:
        """Evaluations told so far."""
        return len(self.obs)

    @property
    def n_untold(self) -> int:
        """Rows of the open proposal not told yet."""
        return int(self._untold.sum())

    @property
    def remaining(self) -> int:
        """Evaluations that can still be asked (or told as external)."""
        return self.config.budget - self.n_evaluations - self.n_untold

    def stop(self) -> dict[str, Any]:
        """Why the run is over, as in pycma (``{"budget": 150}``; a candidate search whose every
        (candidate, group) pair was observed: ``{"exhausted": N * K}``); empty while it is not."""
        if self.n_evaluations >= self.config.budget:
            return {"budget": self.config.budget}
        if self.candidates is not None and self._open is None and not self.free_pairs().any():
            return {"exhausted": self.free_pairs().numel()}
        return {}

    def free_pairs(self) -> Tensor:
        """A candidate search's ``N x K`` (candidate, group) pairs not observed yet (nor asked in
        the open proposal)."""
        if self.candidates is None:
            raise ConfigError("free_pairs() is for a candidate search: RobustBO(candidates=...)")
        seen = observed_pairs(self.candidates, self.obs.z, self.obs.mask)
        if self._open is not None and self._open.index is not None:
            seen[self._open.index] |= self._open.groups
        return ~seen

    def candidate_index(self, z: Tensor) -> Tensor:
        """The candidate of each row of ``z`` (``n x d``; e.g. ``bo.obs.z[best.index]``)."""
        if self.candidates is None:
            raise ConfigError("candidate_index() is for a candidate search: candidates=...")
        z = torch.as_tensor(z, dtype=torch.float64).reshape(-1, self.config.dim)
        return candidate_index(self.candidates, z)

    @property
    def done(self) -> bool:
        return bool(self.stop())

    @property
    def result(self) -> Best:
        """The final pick by the method's own criterion (:meth:`best`)."""
        return self.best()

    @property
    def pending(self) -> Proposal | None:
        """The open proposal (``None`` when every asked row was told or abandoned)."""
        return self._open

    def context(self) -> RoundContext:
        """The frozen context of the current round."""
        return RoundContext(
            round=self.round,
            beta=beta_schedule(self.round) if self.round >= 1 else 0.0,
            reference=self.reference.clone(),
            ambiguity=self.ambiguity,
            z=self.obs.z,
            y=self.obs.y,
            mask=self.obs.mask,
            budget=self.config.budget,
            seed=self.config.seed,
            groups_per_round=self.config.groups_per_round,
            settings=self.config.to_dict(),
        )

    # -------------------------------------------------------------------- ask
    def ask(self, n: int | None = None) -> Proposal:
        """Propose ``n`` (default ``batch_size``) distinct soft prompts: one round.

        Returns at most the remaining budget. Raises when the budget is used up, or while the
        last proposal has untold rows (tell them, or :meth:`abandon` them).
        """
        n = self.config.batch_size if n is None else int(n)
        if n < 1:
            raise ConfigError(f"ask(n) needs n >= 1, got {n}")
        if self._open is not None:
            raise ConfigError(
                f"proposal {self._open.id} (round {self._open.round}) still has {self.n_untold} "
                f"of {len(self._open)} rows untold; tell them, or call abandon() to drop them"
            )
        self._close_round()
        if self.remaining <= 0:
            raise ConfigError(
                f"the budget of {self.config.budget} evaluations is used up; call best() or "
                f"create a RobustBO with a larger budget"
            )
        n = min(n, self.remaining)
        free = None
        if self.candidates is not None:
            free = self.free_pairs()
            n = min(n, int(free.any(-1).sum()))
            if n == 0:
                raise ConfigError(
                    f"every (candidate, group) pair of the {len(free)} candidates has been "
                    "observed; call best(), or give more candidates"
                )
        spec = self.method_spec
        design = self.n_design < self.config.design_size()
        sobol = spec.acquisition is None or design or self.n_evaluations == 0
        self.round = 0 if design else self.round + 1
        ctx = self.context()
        weights: Tensor | None = None
        index: Tensor | None = None
        if free is not None and sobol:
            index, z, groups = self._ask_walk(ctx, n, free, design)
        elif sobol:
            z = sobol_points(self.config.dim, n, self.config.seed, skip=self.n_sobol)
            self.n_sobol += n
            groups = self._initial_groups(n) if design else reference_groups(None, ctx, z)
        else:
            z, weights, groups = self._ask_bo(spec, ctx, n, free)
            if free is not None:
                index = candidate_index(self.candidates, z)  # type: ignore[arg-type]
        if design:
            self.n_design += n
        self.last_acquisition_weights = weights
        proposal = Proposal(z, groups, self.round, ctx.reference, self._proposal_id(), index)
        self.n_proposals += 1
        self._open, self._untold = proposal, torch.ones(n, dtype=torch.bool)
        return proposal

    def _proposal_id(self) -> str:
        tag = derive_seed(self.config.seed, self.n_proposals, 5) % 16**8
        return f"p{self.n_proposals}-{tag:08x}"

    def _initial_groups(self, n: int) -> Tensor:
        offset = derive_seed(self.config.seed, 0) % self.config.n_groups
        per = self.config.groups_per_round
        return initial_groups(self.n_design + n, self.config.n_groups, per, offset)[-n:]

    def _ask_walk(
        self, ctx: RoundContext, n: int, free: Tensor, design: bool
    ) -> tuple[Tensor, Tensor, Tensor]:
        """A candidate search's design or model-free round: the next ``n`` candidates with free
        groups along the seeded permutation (cyclic: candidates come back for their other
        groups), on the design's rotating groups or by the reference weights, free ones only."""
        assert self.candidates is not None
        order = candidate_order(len(self.candidates), self.config.seed)
        chosen: list[int] = []
        for _ in range(len(order)):
            if len(chosen) == n:
                break
            c = int(order[self.n_sobol % len(order)])
            self.n_sobol += 1
            if bool(free[c].any()):
                chosen.append(c)
        index = torch.tensor(chosen, dtype=torch.long)
        z, rows = self.candidates[index], free[index]
        if design:
            # rows whose turn of groups was told already (external evaluations) get free ones
            groups = acquire.fill_groups(self._initial_groups(n) & rows, rows, ctx)
        else:
            groups = reference_groups(None, ctx, z) & rows
        return index, z, groups

    def _ask_bo(
        self, spec: Method, ctx: RoundContext, n: int, free: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None, Tensor]:
        model = self._fitted_gp()
        if free is None:
            step = acquire.propose(spec, model, ctx, self.config, n)
        else:
            cands = self.candidates
            assert cands is not None  # free groups are given in a candidate search only
            step = acquire.propose_candidates(spec, model, ctx, self.config, n, cands, free)
        if self.config.kernel == WSTAR_KERNEL:  # w* of this round's incumbent, for the next fit
            mean = model.predict(self.obs.z)[0]
            self._wstar = incumbent_weights(mean, step.scores, ctx.ambiguity, ctx.reference)
        return step.z, step.weights, step.groups

    def abandon(self) -> int:
        """Drop the open proposal's untold rows (they cost no budget); returns how many."""
        if self._open is None:
            return 0
        dropped = self.n_untold
        if self._open.round == 0:
            self.n_design -= dropped
        self._untold[:] = False
        self._complete()
        return dropped

    # ------------------------------------------------------------------- tell
    def tell(
        self,
        z_or_proposal: Proposal | Tensor | ArrayLike,
        y: Tensor | ArrayLike,
        groups: Tensor | ArrayLike | None = None,
        scores: Tensor | ArrayLike | None = None,
        embeddings: Tensor | ArrayLike | None = None,
        external: bool = False,
    ) -> None:
        """Record evaluations of asked points (any split of a proposal's rows, in any order).

        Args:
            z_or_proposal: The :class:`Proposal` (or ``proposal[rows]``), or ``n x d`` points it
                holds (float32 or float64; they are matched to the asked rows).
            y: ``n x K`` observed per-group means; NaN (or any value) where not observed.
            groups: ``n x K`` bool mask of the evaluated groups; default: the asked ones. It must
                cover every asked group.
            scores: ``n x E`` per-example scores, needed by kernels that need ``"scores"``.
            embeddings: ``n x D`` instruction embeddings, for kernels that need them.
            external: The points were never asked (your own design): accepted only then, and
                they count toward the initial design.
        """
        z, rows, mask = resolve_rows(
            z_or_proposal, groups, self._open, self._untold, external, self.config, self.remaining
        )
        if self.candidates is not None:
            z = self._check_pairs(z, mask, rows)
        needs = KERNELS.get(self.config.kernel).needs
        if "scores" in needs and scores is None:
            raise ConfigError(
                f"kernel {self.config.kernel!r} needs the per-example scores: tell(..., scores=)"
            )
        if "embeddings" in needs and embeddings is None:
            raise ConfigError(f"kernel {self.config.kernel!r} needs tell(..., embeddings=...)")
        self.obs.add(z, y, mask, scores=scores, embeddings=embeddings)
        if rows is None:
            self.n_design += len(z)
            self._buffer += [-1] * len(z)
            return
        self._untold[rows] = False
        self._buffer += rows.tolist()
        if not self._untold.any():
            self._complete()

    def _check_pairs(self, z: Tensor, mask: Tensor | ArrayLike, rows: Tensor | None) -> Tensor:
        """A candidate search's told rows: candidates (snapped to their features) whose told
        groups were not observed before; raises otherwise."""
        assert self.candidates is not None
        index = candidate_index(self.candidates, z)
        seen = observed_pairs(self.candidates, self.obs.z, self.obs.mask)
        told = torch.as_tensor(mask).to(torch.bool)
        for i, c in enumerate(index.tolist()):
            again = seen[c] & told[i]
            if again.any():
                group = int(again.nonzero()[0])
                raise ConfigError(
                    f"candidate {c} was already observed on group {group}; a candidate search "
                    "observes each (candidate, group) pair once: tell only its other groups"
                )
            seen[c] |= told[i]
        return self.candidates[index]

    def _complete(self) -> None:
        """The open proposal is told in full (or abandoned): the round ends."""
        self._open, self._untold = None, torch.zeros(0, dtype=torch.bool)
        self._close_round()

    def _close_round(self) -> None:
        """Store the round's rows in proposal order, then one EMA step on them."""
        if not self._buffer:
            return
        start = self.n_evaluations - len(self._buffer)
        key = {i: (p < 0, p if p >= 0 else i) for i, p in enumerate(self._buffer)}
        self.obs.permute_tail(start, sorted(key, key=key.__getitem__))
        self._buffer = []
        self._gp = None  # the rows moved (and the reference changes): refit
        self._fit_current = False
        y, mask = self.obs.y[start:], self.obs.mask[start:]
        fallback = torch.where(torch.isnan(self._last_ybar), self.obs.y_mean(), self._last_ybar)
        ybar = round_ybar(y, mask, fallback)
        self._last_ybar = torch.where(mask.any(0), ybar, self._last_ybar)
        if self.config.updates_reference():
            v = normalise_scores(ybar, self.obs.y[self.obs.mask])
            self.reference = update_reference(
                self.reference, v, eta=self.config.eta, delta=self.config.delta
            )

    # ------------------------------------------------------------------- best
    def best(self, selection: str | None = None) -> Best:
        """The method's own final pick among the evaluated points (or by ``selection``)."""
        if self.n_evaluations == 0:
            raise ConfigError("best() needs at least one evaluation; tell() some first")
        name = selection or self.config.final_selection()
        criterion = SELECTIONS.get(name)
        model = self._fitted_gp() if criterion.needs_model else None
        scores = criterion.score(model, self.context())
        index = int(torch.argmax(scores))
        return Best(index, self.obs.z[index].clone(), float(scores[index]), name, scores)

    def surrogate(self) -> GroupGP:
        """The surrogate fitted to every evaluation told so far (refitted only on new data)."""
        return self._fitted_gp()

    def posterior(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance (``b x K`` each) of every group at ``z`` (``b x d``)."""
        return self._fitted_gp().predict(z)

    def _fitted_gp(self) -> GroupGP:
        if self._gp is not None and self._gp[0] == self.n_evaluations:
            return self._gp[1]
        inputs = self.obs.kernel_inputs(self.config, self.reference)
        exact = self._fit_current and self._fit_n == self.n_evaluations and bool(self._hyper)
        wstar = self._fit_wstar if exact else self._wstar  # coupled-scores-wstar
        if wstar is not None:
            inputs = dataclasses.replace(inputs, wstar=wstar)
        gp = self._condition(inputs) if exact else None
        if gp is None:
            if self._fit_n != self.n_evaluations:  # new data; else redo the last fit
                self._warm = self._hyper
            gp = make_gp(
                self.config.kernel,
                self.obs.z,
                self.obs.y,
                inputs=inputs,
                warm_start=self._warm,
                maxiter=self.config.fit_maxiter,
                surrogate=self.config.surrogate,
            )
            self._hyper = hyperparameters(gp)
            self._fit_n, self._fit_current, self._fit_wstar = self.n_evaluations, True, wstar
        self._gp = (self.n_evaluations, gp)
        return gp

    def _condition(self, inputs: KernelInputs) -> GroupGP | None:
        """The GP with the last fit's hyperparameters on the current data, without fitting (a
        restored engine: nothing is re-guessed); ``None`` (refit) when they do not fit it."""
        try:
            return condition_gp(
                self.config.kernel,
                self.obs.z,
                self.obs.y,
                self._hyper,
                inputs=inputs,
                surrogate=self.config.surrogate,
            )
        except ConfigError as exc:
            logger.warning("%s; refitting the GP from them instead", exc)
            return None

    # ---------------------------------------------------------- serialisation
    def state_dict(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot; a restored engine asks exactly what this one would.

        It holds the last fit's hyperparameters: a restored engine conditions its GP on them
        (no refit) while no new data arrived, and warm-starts the next fit from them. It also
        names the library versions and platform it was taken on (``environment``)."""
        return save_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a snapshot from :meth:`state_dict` (the configuration must match)."""
        load_state(self, state)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> RobustBO:
        """A new engine with the saved configuration and state."""
        cfg = EngineConfig.from_dict(state["config"])
        engine = cls(**cfg.constructor_kwargs())
        engine.load_state_dict(state)
        return engine
