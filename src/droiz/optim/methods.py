"""The engine's methods, registered by name: acquisition, group rule and final pick.

A method is one small :class:`Method`:

* ``acquisition(model, ctx)``: the BoTorch acquisition function it maximises in a BO round,
  built from the fitted surrogate and the round's frozen :class:`~droiz.optim.context.RoundContext`
  (``None``: no model at all, the method proposes the scrambled Sobol sequence for the whole
  budget, as ``random`` and ``dro-nobo`` do);
* ``group_rule``: which groups each candidate is evaluated on (a name in
  :data:`~droiz.optim.reference.GROUP_RULES`: ``adversarial`` or ``reference``);
* ``final_pick``: how the evaluated points are ranked (a name in
  :data:`~droiz.optim.selection.SELECTIONS`); CMA-ES starts from the best points by it too.

Add one with the :func:`register_method` decorator (see ``docs/engine.md``)::

    @register_method("mine", group_rule="adversarial", final_pick="robust")
    def mine(model, ctx):
        return RobustUCB(model, ctx.beta, ctx.ambiguity, ctx.reference)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botorch.acquisition import AcquisitionFunction

from droiz.acquisition import HybridAcquisition, RobustUCB, hybrid_weight, mixture_ei, mixture_ucb
from droiz.optim.context import RoundContext
from droiz.optim.reference import GROUP_RULES
from droiz.optim.selection import SELECTIONS, posterior_scores
from droiz.registry import Registry

AcquisitionBuilder = Callable[[Any, RoundContext], AcquisitionFunction]


@dataclass(frozen=True)
class Method:
    """A registered optimisation method (see the module docstring).

    Attributes:
        name: Its name (``RobustBO(method=name)``, ``droiz optimize --method name``).
        acquisition: ``acquisition(model, ctx) -> AcquisitionFunction``, or ``None`` for a
            model-free method that proposes Sobol points throughout.
        group_rule: The group rule of its BO rounds (``group_selection="auto"``).
        final_pick: Its final-pick criterion.
    """

    name: str
    acquisition: AcquisitionBuilder | None
    group_rule: str = "reference"
    final_pick: str = "nominal"

    def __post_init__(self) -> None:
        GROUP_RULES.get(self.group_rule)  # unknown names fail at registration, with a hint
        SELECTIONS.get(self.final_pick)

    @property
    def robust(self) -> bool:
        """Whether its final pick is a worst case over the ambiguity set (then, with
        ``reference_update="auto"``, the reference weights follow the weak groups)."""
        return SELECTIONS.get(self.final_pick).robust


METHODS: Registry[Method] = Registry("method", entry_points="droiz.methods")
"""Methods by name; entry points of the group ``droiz.methods`` are loaded on a miss."""


def register_method(
    name: str, *, group_rule: str = "reference", final_pick: str = "nominal"
) -> Callable[[AcquisitionBuilder], AcquisitionBuilder]:
    """Decorator registering ``acquisition(model, ctx)`` as the method ``name``."""

    def deco(fn: AcquisitionBuilder) -> AcquisitionBuilder:
        METHODS.add(name, Method(name, fn, group_rule, final_pick))
        return fn

    return deco


@register_method("dro", group_rule="adversarial", final_pick="robust")
def robust_ucb(model: Any, ctx: RoundContext) -> AcquisitionFunction:
    """DRO-InstructZero: the worst case over the ambiguity set of ``mu_t + beta sigma_t``."""
    return RobustUCB(model, ctx.beta, ctx.ambiguity, ctx.reference)


@register_method("hybrid", group_rule="adversarial", final_pick="robust")
def hybrid(model: Any, ctx: RoundContext) -> AcquisitionFunction:
    """``lam * robust + (1 - lam) * mixture UCB``, ``lam`` from 1 to ``hybrid_end``."""
    start, end = ctx.settings.get("hybrid_start", 0.6), ctx.settings.get("hybrid_end", 0.5)
    lam = hybrid_weight(ctx.progress, start, end)
    return HybridAcquisition(robust_ucb(model, ctx), ucb(model, ctx), lam)


@register_method("ei", final_pick="nominal")
def ei(model: Any, ctx: RoundContext) -> AcquisitionFunction:
    """InstructZero: (log) EI of the reference mixture over its best posterior mean so far."""
    best_f = float(posterior_scores("nominal", model, ctx.z, ctx.ambiguity, ctx.reference).max())
    return mixture_ei(model, best_f, ctx.reference)


@register_method("ucb", final_pick="nominal")
def ucb(model: Any, ctx: RoundContext) -> AcquisitionFunction:
    """UCB of the reference mixture ``w^T mu + beta sqrt(w^T Sigma w)``."""
    return mixture_ucb(model, ctx.beta, ctx.reference)


METHODS.add("random", Method("random", None, "reference", "observed-nominal"))
METHODS.add("dro-nobo", Method("dro-nobo", None, "reference", "observed-robust"))
