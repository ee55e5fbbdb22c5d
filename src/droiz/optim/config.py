"""The engine's resolved, frozen, serialisable configuration."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from droiz.axes import DEFAULT_GROUP_RULE
from droiz.exceptions import ConfigError
from droiz.optim.candidates import check_features
from droiz.optim.methods import METHODS, Method
from droiz.optim.reference import GROUP_RULES, floor_weights
from droiz.optim.selection import SELECTIONS
from droiz.surrogate.build import KERNELS, SURROGATES

LEGACY_AUTO = "auto"
"""The default group setting of earlier droiz (a rule per method), readable from
saved configurations."""


@dataclass(frozen=True)
class EngineConfig:
    """Every setting of :class:`~droiz.optim.engine.RobustBO` (see its docstring).

    Attributes:
        reference: Initial reference weights (``None``: uniform).
        method: A registered method (:data:`~droiz.optim.methods.METHODS`).
        ambiguity: The ambiguity set as a spec string (``"kl:0.1"``) or, for sets without one
            (a W1 ball with a cost matrix), its ``to_dict()`` mapping.
        reference_update: ``"ema"`` (inverse-score EMA once per completed round), ``"fixed"``
            (``"none"`` is its older spelling), or ``"auto"`` (the method's own:
            :attr:`Method.reference_update <droiz.optim.methods.Method>`, EMA for the methods
            with a robust final pick).
        eta, delta: EMA step and offset of the reference update.
        n_init: Sobol points before the first BO round. batch_size: default ``n`` of ``ask``.
        groups_per_round: Groups each evaluation observes.
        group_selection: Which groups a BO-round evaluation observes, the same rule for every
            model-based method: a registered group rule (``"reference"``, the default: sampled
            in proportion to the reference weights; ``"adversarial"``: the groups with the
            lowest lower confidence bound at that point). ``"auto"`` is read only from
            configurations saved by an older droiz, whose default it was (adversarial for ``dro``
            and ``hybrid``, reference for the others): such runs resume as they ran.
        final_pick: A final-pick criterion for this run instead of the method's own (``None``),
            e.g. ``"robust"`` for every cell of a factorial ablation.
        kernel: A registered kernel: ``"matern"``, ``"coupled-scores"`` or
            ``"coupled-semantic"``.
        surrogate: A registered surrogate model (``"independent"``: groups independent a priori).
        example_groups: Group index of each per-example score (``coupled-scores``); default:
            the ``E`` examples split into K equal consecutive blocks.
        hybrid_start, hybrid_end: The hybrid's ``lam`` is 1 until ``hybrid_start`` of the budget,
            then linear to ``hybrid_end`` at the end.
        cma_starts, cma_popsize, cma_sigma0, cma_generations: Inner CMA-ES searches: 5 searches
            of popsize 50 by default, 2,500 acquisition values a round (the 20-seed demo
            comparison with the earlier 25 searches is in ``docs/engine.md``, "Round time").
        fit_maxiter: L-BFGS-B iterations of the GP fit.
        candidates: ``N x dim`` features of a finite set of candidates (``None``: the box
            ``[-1, 1]^dim``): the search runs over the candidates themselves
            (:mod:`droiz.optim.candidates`).
    """

    dim: int = 10
    n_groups: int = 2
    method: str = "dro"
    ambiguity: str | dict[str, Any] = "kl:0.1"
    budget: int = 150
    seed: int = 0
    reference: tuple[float, ...] | None = None
    reference_update: str = "auto"
    eta: float = 0.2
    delta: float = 0.05
    n_init: int = 25
    batch_size: int = 25
    groups_per_round: int = 2
    group_selection: str = DEFAULT_GROUP_RULE
    final_pick: str | None = None
    kernel: str = "matern"
    surrogate: str = "independent"
    example_groups: tuple[int, ...] | None = None
    hybrid_start: float = 0.6
    hybrid_end: float = 0.5
    cma_starts: int = 5
    cma_popsize: int = 50
    cma_sigma0: float = 0.8
    cma_generations: int = 10
    fit_maxiter: int = 200
    candidates: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self) -> None:
        if self.candidates is not None:
            rows = check_features(self.candidates, int(self.dim)).tolist()
            object.__setattr__(self, "candidates", tuple(tuple(r) for r in rows))
        if self.reference is not None:
            ref = tuple(float(v) for v in torch.as_tensor(self.reference).reshape(-1).tolist())
            object.__setattr__(self, "reference", ref)
        if self.example_groups is not None:
            groups = tuple(
                int(v) for v in torch.as_tensor(self.example_groups).reshape(-1).tolist()
            )
            object.__setattr__(self, "example_groups", groups)
        METHODS.get(self.method)  # unknown names raise UnknownNameError with a "did you mean"
        KERNELS.get(self.kernel)
        SURROGATES.get(self.surrogate)
        if self.group_selection != LEGACY_AUTO:
            GROUP_RULES.get(self.group_selection)
        if self.final_pick is not None:
            SELECTIONS.get(self.final_pick)
        if self.reference_update not in ("auto", "ema", "fixed", "none"):
            raise ConfigError(
                f"reference_update must be 'auto', 'ema' or 'fixed', got {self.reference_update!r}"
            )
        for name in ("dim", "n_groups", "budget", "batch_size", "groups_per_round", "cma_starts"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.n_init < 0 or self.cma_popsize < 2 or self.cma_generations < 1:
            raise ConfigError("n_init must be >= 0, cma_popsize >= 2 and cma_generations >= 1")
        if not (0.0 <= self.eta <= 1.0 and self.delta > 0.0):
            raise ConfigError(f"need 0 <= eta <= 1 and delta > 0, got {self.eta}, {self.delta}")
        if not (0.0 <= self.hybrid_start < 1.0 and 0.0 <= self.hybrid_end <= 1.0):
            raise ConfigError("need 0 <= hybrid_start < 1 and 0 <= hybrid_end <= 1")
        self._check_reference()
        if self.example_groups is not None and (
            min(self.example_groups) < 0 or max(self.example_groups) >= self.n_groups
        ):
            raise ConfigError(f"example_groups must hold group indices in [0, {self.n_groups})")

    def _check_reference(self) -> None:
        ref = self.reference
        if ref is None:
            return
        if len(ref) != self.n_groups or min(ref) < 0 or abs(sum(ref) - 1.0) > 1e-6:
            raise ConfigError(
                f"reference must be {self.n_groups} non-negative weights summing to 1, got "
                f"{list(ref)}; pass e.g. reference=[{', '.join(['0.5'] * 2)}] for K=2"
            )

    def initial_reference(self) -> Tensor:
        if self.reference is None:
            return torch.full((self.n_groups,), 1.0 / self.n_groups, dtype=torch.float64)
        return floor_weights(torch.tensor(self.reference, dtype=torch.float64))

    def method_spec(self) -> Method:
        """The registered :class:`~droiz.optim.methods.Method`, with ``final_pick`` if set."""
        spec = METHODS.get(self.method)
        if self.final_pick is None or self.final_pick == spec.final_pick:
            return spec
        return dataclasses.replace(spec, final_pick=self.final_pick)

    @property
    def n_candidates(self) -> int | None:
        """Candidates of a candidate search (``None``: the search runs over the box)."""
        return None if self.candidates is None else len(self.candidates)

    def design_size(self) -> int:
        """Points of the initial design: ``n_init``, at most one per candidate."""
        n = self.n_candidates
        return self.n_init if n is None else min(self.n_init, n)

    def updates_reference(self) -> bool:
        """Whether the reference follows the EMA (``auto``: the method's own
        ``reference_update``; for ``ei``, ``ucb`` and ``random`` the reference mixture is the
        objective itself and stays fixed)."""
        if self.reference_update == "auto":
            return self.method_spec().reference_update == "ema"
        return self.reference_update == "ema"

    def final_selection(self) -> str:
        """The run's final-pick criterion (see ``droiz.optim.selection``)."""
        return self.method_spec().final_pick

    def group_rule(self) -> str:
        """The group rule of the BO rounds (a legacy ``auto``: the method's
        :attr:`~droiz.optim.methods.Method.legacy_group_rule`)."""
        rule = self.group_selection
        return self.method_spec().legacy_group_rule if rule == LEGACY_AUTO else rule

    def axes(self) -> dict[str, str]:
        """The run's four axes (:mod:`droiz.axes`): acquisition, group rule (``reference`` for
        a model-free method), reference update (``fixed`` or ``ema``) and final pick."""
        axes = self.method_spec().axes(self.group_rule())
        axes["reference_update"] = "ema" if self.updates_reference() else "fixed"
        return axes

    def resumes_as(self, current: EngineConfig) -> bool:
        """Whether this saved configuration (``self``) differs from ``current`` only by the
        legacy ``group_selection="auto"`` of an older droiz, whose runs then resume with it."""
        if self.group_selection != LEGACY_AUTO or current.group_selection == LEGACY_AUTO:
            return False
        return dataclasses.replace(self, group_selection=current.group_selection) == current

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
        if self.candidates is not None:
            out["candidates"] = [list(row) for row in self.candidates]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineConfig:
        """The configuration of :meth:`to_dict` (a configuration saved before a setting existed
        takes its default: ``candidates=None``, the box)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown engine settings {sorted(unknown)}")
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)

    def __hash__(self) -> int:  # the ambiguity may be a mapping (a W1 cost matrix)
        return hash(repr(self.to_dict()))

    def constructor_kwargs(self) -> dict[str, Any]:
        return self.to_dict()
