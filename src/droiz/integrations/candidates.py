"""Exact ask/tell search over a finite set of candidate instructions, with droiz's methods.

:class:`CandidateSearch` runs a method of :data:`droiz.optim.METHODS` (its acquisition, group
rule, reference update and final pick, from :mod:`droiz.optim`) over a fixed set of candidates
instead of a continuous soft prompt: the acquisition is maximised exactly, by evaluating it at
every candidate, and no evaluation observes a (candidate, group) pair that was observed before (a
candidate is evaluated again only on groups it has not been seen on). Each candidate is a point
of ``[-1, 1]^d``: by default the corner ``2 e_i - 1`` (one-hot), so the candidates are
exchangeable a priori and the GP shares strength between them only through its hyperparameters.

The rounds follow the engine's rules (``docs/engine.md``): round 0 is the initial design (the
first candidate, then the others in a seeded order, on groups rotated as in
:func:`~droiz.optim.reference.initial_groups`), BO rounds count from 1 with ``beta_schedule``,
the reference EMA moves once per told round, and the final pick is the method's criterion.

:func:`candidate_search` is the one place that builds the search, so that it can become
``RobustBO(..., candidates=features)`` once the engine searches finite candidate sets itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from droiz.acquisition import beta_schedule
from droiz.ambiguity import AmbiguitySet, ambiguity_from_config, ambiguity_to_config
from droiz.axes import DEFAULT_GROUP_RULE
from droiz.exceptions import ConfigError
from droiz.optim.config import EngineConfig
from droiz.optim.context import RoundContext, derive_seed
from droiz.optim.observations import Observations
from droiz.optim.reference import (
    GROUP_RULES,
    initial_groups,
    normalise_scores,
    reference_groups,
    round_ybar,
    update_reference,
)
from droiz.optim.selection import SELECTIONS
from droiz.surrogate.build import make_gp


@dataclass(frozen=True)
class Evaluation:
    """One evaluation to run: a candidate on some groups (indices into the groups)."""

    candidate: int
    groups: tuple[int, ...]


@dataclass(frozen=True)
class Pick:
    """The final pick: a candidate, its score under ``selection``, and the criterion."""

    candidate: int
    value: float
    selection: str


def candidate_search(
    n_candidates: int,
    n_groups: int,
    *,
    method: str,
    ambiguity: AmbiguitySet | str,
    budget: int,
    seed: int,
    n_init: int | None = None,
    groups_per_round: int = 2,
    batch_size: int = 1,
) -> CandidateSearch:
    """The search over ``n_candidates`` (one-hot features) and ``n_groups`` groups."""
    return CandidateSearch(
        torch.eye(n_candidates, dtype=torch.float64) * 2 - 1,
        n_groups,
        method=method,
        ambiguity=ambiguity,
        budget=budget,
        seed=seed,
        n_init=n_init,
        groups_per_round=groups_per_round,
        batch_size=batch_size,
    )


class CandidateSearch:
    """Ask/tell search over the rows of ``features`` (see the module docstring).

    Args:
        features: ``n x d`` points in ``[-1, 1]^d``, one per candidate.
        n_groups: Number of groups ``K``.
        method, ambiguity, budget, seed, groups_per_round, batch_size: As for
            :class:`~droiz.optim.RobustBO`.
        n_init: Evaluations of the initial design (default: one per candidate, at most half
            the budget).
    """

    def __init__(
        self,
        features: Tensor,
        n_groups: int,
        *,
        method: str = "dro",
        ambiguity: AmbiguitySet | str = "kl:0.1",
        budget: int = 20,
        seed: int = 0,
        n_init: int | None = None,
        groups_per_round: int = 2,
        batch_size: int = 1,
    ) -> None:
        self.features = torch.as_tensor(features, dtype=torch.float64)
        n = len(self.features)
        if n_init is None:
            n_init = max(1, min(n, budget // 2))
        self.ambiguity = ambiguity_from_config(ambiguity)
        self.config = EngineConfig(
            dim=self.features.shape[-1],
            n_groups=n_groups,
            method=method,
            ambiguity=ambiguity_to_config(self.ambiguity),
            budget=budget,
            seed=seed,
            n_init=n_init,
            batch_size=batch_size,
            groups_per_round=groups_per_round,
            group_selection=DEFAULT_GROUP_RULE,
        )
        self.obs = Observations(self.config.dim, n_groups)
        self.candidate_of: list[int] = []  # the candidate of each told evaluation
        self.seen = torch.zeros(n, n_groups, dtype=torch.bool)
        self.reference = self.config.initial_reference()
        self.round = 0
        self._last_ybar = torch.full((n_groups,), float("nan"), dtype=torch.float64)
        rng = np.random.default_rng(seed)
        self._design_order = [0, *(1 + rng.permutation(n - 1)).tolist()]

    @property
    def n_evaluations(self) -> int:
        return len(self.obs)

    def stop(self) -> dict[str, Any]:
        """Why the search is over (``{"budget": B}`` or ``{"exhausted": True}``: every
        (candidate, group) pair is observed); empty while it is not."""
        if self.n_evaluations >= self.config.budget:
            return {"budget": self.config.budget}
        if bool(self.seen.all()):
            return {"exhausted": True}
        return {}

    def context(self) -> RoundContext:
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
    def ask(self) -> list[Evaluation]:
        """The next round's evaluations (distinct candidates, each on groups it was not seen on)."""
        if self.stop():
            raise ConfigError(f"the search is over ({self.stop()}); call best()")
        remaining = self.config.budget - self.n_evaluations
        design = self.n_evaluations < self.config.n_init
        if design:
            return self._ask_design(min(self.config.n_init - self.n_evaluations, remaining))
        self.round += 1
        n = min(self.config.batch_size, remaining, int(self.seen.logical_not().any(-1).sum()))
        ctx = self.context()
        spec = self.config.method_spec()
        if spec.acquisition is None:  # model-free: seeded random candidates, reference groups
            rng = np.random.default_rng(ctx.seed_for(4))
            chosen = self._open(rng.permutation(len(self.features)).tolist(), n)
            z = self.features[chosen]
            return self._evaluations(chosen, reference_groups(None, ctx, z))
        model = self._fit()
        with torch.no_grad():
            values = spec.acquisition(model, ctx)(self.features.unsqueeze(-2))
        order = torch.argsort(values.reshape(-1), descending=True, stable=True).tolist()
        chosen = self._open(order, n)
        rule = GROUP_RULES.get(self.config.group_rule())
        groups = rule.fn(model if rule.needs_model else None, ctx, self.features[chosen])
        return self._evaluations(chosen, groups)

    def _ask_design(self, n: int) -> list[Evaluation]:
        start = self.n_evaluations
        order = [self._design_order[(start + i) % len(self._design_order)] for i in range(n)]
        offset = derive_seed(self.config.seed, 0) % self.config.n_groups  # as RobustBO's design
        k, per = self.config.n_groups, self.config.groups_per_round
        groups = initial_groups(start + n, k, per, offset)[start:]
        out: list[Evaluation] = []
        for candidate, mask in zip(order, groups, strict=True):
            if self.seen[candidate].all() or any(e.candidate == candidate for e in out):
                continue
            out.append(self._evaluation(candidate, mask))
        if not out:  # the design wrapped around onto seen pairs: take open candidates instead
            chosen = self._open(self._design_order, 1)
            out = self._evaluations(chosen, groups[:1])
        return out

    def _open(self, order: Sequence[int], n: int) -> list[int]:
        """The first ``n`` candidates of ``order`` with a group not yet seen."""
        return [i for i in order if not self.seen[i].all()][:n]

    def _evaluations(self, chosen: list[int], groups: Tensor) -> list[Evaluation]:
        return [self._evaluation(c, g) for c, g in zip(chosen, groups, strict=True)]

    def _evaluation(self, candidate: int, wanted: Tensor) -> Evaluation:
        """The wanted groups the candidate was not seen on, topped up to ``groups_per_round``
        with its other unseen groups (largest reference weight first)."""
        unseen = ~self.seen[candidate]
        mask = wanted & unseen
        per = min(self.config.groups_per_round, int(unseen.sum()))
        for g in torch.argsort(self.reference, descending=True, stable=True).tolist():
            if int(mask.sum()) >= per:
                break
            mask[g] = mask[g] | bool(unseen[g])
        return Evaluation(candidate, tuple(mask.nonzero().flatten().tolist()))

    def _fit(self) -> Any:
        cfg = self.config
        return make_gp(
            cfg.kernel,
            self.obs.z,
            self.obs.y,
            inputs=self.obs.kernel_inputs(cfg, self.reference),
            maxiter=cfg.fit_maxiter,
            surrogate=cfg.surrogate,
        )

    # ------------------------------------------------------------------- tell
    def tell(self, evaluations: Sequence[Evaluation], y: Tensor) -> None:
        """Record evaluations (``y``: ``n x K`` group means, NaN where not observed); the round
        ends here (one reference EMA step on its rows)."""
        if not evaluations:
            return
        y = torch.as_tensor(y, dtype=torch.float64)
        mask = torch.zeros(len(evaluations), self.config.n_groups, dtype=torch.bool)
        for row, ev in enumerate(evaluations):
            if self.seen[ev.candidate, list(ev.groups)].any():
                raise ConfigError(f"candidate {ev.candidate} was already observed on {ev.groups}")
            mask[row, list(ev.groups)] = True
        self.obs.add(self.features[[e.candidate for e in evaluations]], y, mask)
        for ev in evaluations:
            self.seen[ev.candidate, list(ev.groups)] = True
            self.candidate_of.append(ev.candidate)
        start = self.n_evaluations - len(evaluations)
        fallback = torch.where(torch.isnan(self._last_ybar), self.obs.y_mean(), self._last_ybar)
        ybar = round_ybar(self.obs.y[start:], mask, fallback)
        self._last_ybar = torch.where(mask.any(0), ybar, self._last_ybar)
        if self.config.updates_reference():
            v = normalise_scores(ybar, self.obs.y[self.obs.mask])
            self.reference = update_reference(
                self.reference, v, eta=self.config.eta, delta=self.config.delta
            )

    # ------------------------------------------------------------------- best
    def best(self) -> Pick:
        """The method's final pick among the evaluated candidates."""
        if self.n_evaluations == 0:
            raise ConfigError("best() needs at least one evaluation; tell() some first")
        name = self.config.final_selection()
        criterion = SELECTIONS.get(name)
        model = self._fit() if criterion.needs_model else None
        evaluated = sorted(set(self.candidate_of))
        y = torch.full((len(evaluated), self.config.n_groups), float("nan"), dtype=torch.float64)
        for candidate, row, seen in zip(self.candidate_of, self.obs.y, self.obs.mask, strict=True):
            y[evaluated.index(candidate), seen] = row[seen]
        # one row per candidate, with every group it was seen on (its evaluations together)
        ctx = dataclasses.replace(
            self.context(), z=self.features[evaluated], y=y, mask=self.seen[evaluated]
        )
        scores = criterion.score(model, ctx)
        index = int(torch.argmax(scores))
        return Pick(evaluated[index], float(scores[index]), name)
