"""The engine's methods, registered by name: presets of the axes of :mod:`droiz.axes`.

A method is one small :class:`Method`:

* ``acquisition(model, ctx)``: the BoTorch acquisition function it maximises in a BO round,
  built from the fitted surrogate and the round's frozen :class:`~droiz.optim.context.RoundContext`
  (``None``: no model at all, the method proposes the scrambled Sobol sequence for the whole
  budget, as ``random`` and ``dro-nobo`` do), and ``acquisition_name``, its name in reports;
* ``reference_update``: ``ema`` (the reference weights follow the weak groups) or ``fixed``;
* ``final_pick``: how the evaluated points are ranked (a name in
  :data:`~droiz.optim.selection.SELECTIONS`); CMA-ES starts from the best points by it too.

The group rule is not part of a method: it is a setting of the run, the same for every
model-based method (``RobustBO(group_selection=...)``). :meth:`Method.axes` names all four.

Add one with the :func:`register_method` decorator (see ``docs/engine.md``)::

    @register_method("mine", final_pick="robust")
    def mine(model, ctx):
        return RobustUCB(model, ctx.beta, ctx.ambiguity, ctx.reference)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from botorch.acquisition.acquisition import AcquisitionFunction

from droiz.acquisition import (
    HybridAcquisition,
    RobustUCB,
    SummedUCB,
    hybrid_weight,
    mixture_ei,
    mixture_ucb,
)
from droiz.axes import REFERENCE_UPDATES
from droiz.exceptions import ConfigError
from droiz.optim.context import RoundContext
from droiz.optim.reference import GROUP_RULES
from droiz.optim.selection import SELECTIONS, posterior_scores
from droiz.registry import Registry
from droiz.surrogate.model import GroupGP

AcquisitionBuilder = Callable[[GroupGP, RoundContext], AcquisitionFunction]


@dataclass(frozen=True)
class Method:
    """A registered optimisation method: a preset of the axes of :mod:`droiz.axes`.

    Attributes:
        name: Its name (``RobustBO(method=name)``, ``droiz optimize --method name``).
        acquisition: ``acquisition(model, ctx) -> AcquisitionFunction``, or ``None`` for a
            model-free method that proposes Sobol points throughout.
        final_pick: Its final-pick criterion.
        reference_update: ``ema`` or ``fixed`` (what ``reference_update="auto"`` gives it);
            ``None``: ``ema`` when its final pick is robust, else ``fixed``.
        acquisition_name: The acquisition's name in reports (``None``: the method's name, or
            ``none`` for a model-free method).
        legacy_group_rule: The group rule the retired ``group_selection="auto"`` gave it; only
            engine configurations saved with ``auto`` read it, so that they resume as they ran.
    """

    name: str
    acquisition: AcquisitionBuilder | None
    final_pick: str = "nominal"
    reference_update: str | None = None
    acquisition_name: str | None = None
    legacy_group_rule: str = "reference"

    def __post_init__(self) -> None:
        GROUP_RULES.get(self.legacy_group_rule)  # unknown names fail at registration, with a hint
        robust = SELECTIONS.get(self.final_pick).robust
        if self.reference_update is None:
            object.__setattr__(self, "reference_update", "ema" if robust else "fixed")
        if self.reference_update not in REFERENCE_UPDATES:
            raise ConfigError(
                f"reference_update must be one of {', '.join(REFERENCE_UPDATES)}, got "
                f"{self.reference_update!r}"
            )
        if self.acquisition_name is None:
            name = "none" if self.acquisition is None else self.name
            object.__setattr__(self, "acquisition_name", name)

    @property
    def robust(self) -> bool:
        """Whether its final pick is a worst case over the ambiguity set."""
        return SELECTIONS.get(self.final_pick).robust

    @property
    def model_free(self) -> bool:
        """Whether it proposes the Sobol sequence throughout (no surrogate, no group rule)."""
        return self.acquisition is None

    def axes(self, group_rule: str) -> dict[str, str]:
        """Its four axes in a run whose model-based methods use ``group_rule`` (model-free
        methods sample the groups by the reference weights)."""
        return {
            "acquisition": str(self.acquisition_name),
            "group_rule": "reference" if self.model_free else group_rule,
            "reference_update": str(self.reference_update),
            "final_pick": self.final_pick,
        }


METHODS: Registry[Method] = Registry("method", entry_points="droiz.methods")
"""Methods by name; entry points of the group ``droiz.methods`` are loaded on a miss."""


def register_method(
    name: str,
    *,
    final_pick: str = "nominal",
    reference_update: str | None = None,
    acquisition_name: str | None = None,
    group_rule: str | None = None,
) -> Callable[[AcquisitionBuilder], AcquisitionBuilder]:
    """Decorator registering ``acquisition(model, ctx)`` as the method ``name``.

    ``group_rule`` is deprecated: the group rule is the run's (``RobustBO(group_selection=...)``);
    if given, it is kept only as the rule of engine configurations saved with the retired
    ``group_selection="auto"``.
    """
    if group_rule is not None:
        warnings.warn(
            f"register_method({name!r}, group_rule=...): the group rule is no longer part of a "
            "method but a setting of the run (RobustBO(group_selection=...)); it is kept only "
            "for runs saved with group_selection='auto'",
            DeprecationWarning,
            stacklevel=2,
        )
    return _register(name, final_pick, reference_update, acquisition_name, group_rule)


def _register(
    name: str,
    final_pick: str,
    reference_update: str | None = None,
    acquisition_name: str | None = None,
    legacy_group_rule: str | None = None,
) -> Callable[[AcquisitionBuilder], AcquisitionBuilder]:
    def deco(fn: AcquisitionBuilder) -> AcquisitionBuilder:
        legacy = legacy_group_rule or "reference"
        spec = Method(name, fn, final_pick, reference_update, acquisition_name, legacy)
        METHODS.add(name, spec)
        return fn

    return deco


@_register("dro", "robust", acquisition_name="robust-ucb", legacy_group_rule="adversarial")
def robust_ucb(model: GroupGP, ctx: RoundContext) -> AcquisitionFunction:
    """DRO-InstructZero: the worst case over the ambiguity set of ``mu_t + beta sigma_t``."""
    return RobustUCB(model, ctx.beta, ctx.ambiguity, ctx.reference)


@_register("hybrid", "robust", legacy_group_rule="adversarial")
def hybrid(model: GroupGP, ctx: RoundContext) -> AcquisitionFunction:
    """``lam * robust + (1 - lam) * mixture UCB``, ``lam`` from 1 to ``hybrid_end``."""
    start, end = ctx.settings.get("hybrid_start", 0.6), ctx.settings.get("hybrid_end", 0.5)
    lam = hybrid_weight(ctx.progress, start, end)
    return HybridAcquisition(robust_ucb(model, ctx), ucb(model, ctx), lam)


@_register("ei", "nominal")
def ei(model: GroupGP, ctx: RoundContext) -> AcquisitionFunction:
    """InstructZero: (log) EI of the reference mixture over its best posterior mean so far."""
    best_f = float(posterior_scores("nominal", model, ctx.z, ctx.ambiguity, ctx.reference).max())
    return mixture_ei(model, best_f, ctx.reference)


@_register("ucb", "nominal")
def ucb(model: GroupGP, ctx: RoundContext) -> AcquisitionFunction:
    """UCB of the reference mixture ``w^T mu + beta sqrt(w^T Sigma w)``."""
    return mixture_ucb(model, ctx.beta, ctx.reference)


@_register("ucb-sum", "robust")
def ucb_sum(model: GroupGP, ctx: RoundContext) -> AcquisitionFunction:
    """The reference mixture of the per-group UCBs ``sum_t w_t (mu_t + beta sigma_t)`` (robust
    UCB with radius 0), with ``dro``'s EMA reference and robust final pick: ``dro`` minus it is
    the worst case alone."""
    return SummedUCB(model, ctx.beta, ctx.reference)


METHODS.add("random", Method("random", None, "observed-nominal"))
METHODS.add("dro-nobo", Method("dro-nobo", None, "observed-robust"))
