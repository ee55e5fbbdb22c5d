"""The :class:`AmbiguitySet` base class, input validation and the ambiguity-set registry.

An ambiguity set ``U(ref)`` is a convex set of distributions over K groups around a reference
``ref``. Its worst case of a utility vector ``u`` (higher is better) is

    ``V(u) = min_{w in U(ref)} <u, w>``,

with minimiser ``w*``. ``V`` is concave in ``u`` and its (super)gradient is ``w*`` (Danskin), so a
subclass only has to find ``w*``: the base class validates the inputs once, runs the solver under
``torch.no_grad()`` on a flat ``N x K`` float64 batch and returns ``value = <w*.detach(), u>``,
through which autograd reaches ``u`` (e.g. a GP posterior mean and standard deviation).

Each set also measures how far a distribution ``w`` is from ``ref`` in its own terms
(:meth:`AmbiguitySet.divergence`; for the balls, ``U(ref) = {w : divergence(w, ref) <= radius}``)
and says whether ``w`` lies in the set (:meth:`AmbiguitySet.contains`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple

import torch
from numpy.typing import ArrayLike
from torch import Tensor

from droiz.exceptions import AmbiguitySetError
from droiz.registry import Registry

REF_SUM_TOL = 1e-6
"""How far ``ref.sum()`` may be from 1 (``ref`` is renormalised to sum to 1 exactly)."""

AMBIGUITY_SETS: Registry[type[AmbiguitySet]] = Registry("ambiguity set")
"""Ambiguity-set classes by spec name: ``kl``, ``chi2``, ``tv``, ``cvar``, ``w1``, ``nominal``."""


class WorstCase(NamedTuple):
    """The worst case of ``u`` over an ambiguity set.

    Attributes:
        value: ``batch`` worst-case expected utilities ``<u, w*>`` (float64, differentiable in u).
        weights: ``batch x K`` worst-case distributions ``w*`` (float64, detached).
    """

    value: Tensor
    weights: Tensor


class AmbiguitySet(ABC):
    """Base class of the ambiguity sets; subclasses implement :meth:`_solve`.

    Args:
        radius: The size parameter of the set (``eps``, ``delta`` or ``alpha``), validated by
            :meth:`_check_radius`.
    """

    name: ClassVar[str]
    """Spec name, e.g. ``"kl"`` (``to_spec()`` gives ``"kl:0.1"``)."""
    radius_name: ClassVar[str] = "eps"
    """Name of the radius in ``repr`` and error messages."""
    has_dual: ClassVar[bool] = True
    """Whether :meth:`worst_case_with_dual` and :meth:`dual_value` are available."""
    dual_nonnegative: ClassVar[bool] = True
    """Whether the dual variable is constrained to ``>= 0`` (a multiplier) or free (a threshold)."""

    def __init__(self, radius: float) -> None:
        self._radius = self._check_radius(_as_float(radius, type(self).__name__, self.radius_name))

    # ------------------------------------------------------------------ description
    @property
    def radius(self) -> float:
        """The radius (``eps`` for KL, chi-square and W1, ``delta`` for TV, ``alpha`` for CVaR)."""
        return self._radius

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.radius_name}={self._radius!r})"

    def to_spec(self) -> str:
        """The spec string that :func:`~droiz.ambiguity.parse_ambiguity` turns into ``self``."""
        return f"{self.name}:{self._radius!r}"

    @classmethod
    def from_spec(cls, spec: str, arg: str | None) -> AmbiguitySet:
        """Build the set from the part of ``spec`` after ``"name:"`` (``None`` when absent)."""
        if arg is None or not arg.strip():
            raise AmbiguitySetError(
                f"ambiguity spec {spec!r} has no radius; expected '{cls.name}:R', e.g. "
                f"'{cls.name}:0.1'"
            )
        try:
            radius = float(arg)
        except ValueError:
            raise AmbiguitySetError(
                f"ambiguity spec {spec!r} has radius {arg.strip()!r}, which is not a number; "
                f"expected '{cls.name}:R', e.g. '{cls.name}:0.1'"
            ) from None
        return cls(radius)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description; :func:`~droiz.ambiguity.ambiguity_from_config` inverts it.
        Subclasses with more parameters than the radius extend it (and :meth:`from_dict`)."""
        return {"name": self.name, "radius": self._radius}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AmbiguitySet:
        """The set described by :meth:`to_dict`."""
        return cls(data["radius"])

    def _key(self) -> tuple[Any, ...]:
        return (type(self), self._radius)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AmbiguitySet) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def with_radius(self, radius: float) -> AmbiguitySet:
        """The same kind of set (same cost matrix, ...) with another radius."""
        return type(self).from_dict({**self.to_dict(), "radius": radius})

    def _check_radius(self, radius: float) -> float:
        """Validate the radius (default: finite and ``>= 0``) and return it."""
        if not math.isfinite(radius) or radius < 0.0:
            raise AmbiguitySetError(
                f"{type(self).__name__} radius {self.radius_name} must be a finite number >= 0, "
                f"got {radius!r}; pass e.g. {type(self).__name__}(0.1)"
            )
        return radius

    # ------------------------------------------------------------------ divergence
    def divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """How far the distributions ``w`` are from ``ref``, as this set measures it.

        For the balls this is the divergence that defines them (KL, Pearson chi-square, half the
        L1 distance, the transport cost under the ground cost), so the ball is
        ``{w : divergence(w, ref) <= radius}``; ``inf`` where ``w`` puts mass on groups that the
        divergence cannot reach from ``ref``. See :meth:`contains` for the other sets.

        Args:
            w: ``batch x K`` distributions (non-negative, each summing to 1 within 1e-6).
            ref: ``K`` reference distribution.

        Returns:
            ``batch`` float64 divergences.
        """
        w64, q = prepare_distributions(w, ref)
        flat = w64.detach().reshape(-1, w64.shape[-1])
        with torch.no_grad():
            out = self._divergence(flat, q)
        return out.reshape(w64.shape[:-1])

    def contains(self, w: Tensor, ref: Tensor, tol: float = 1e-9) -> Tensor:
        """Whether each distribution of ``w`` (``batch x K``) lies in ``U(ref)``, up to ``tol``
        (default: its divergence is at most ``radius + tol``)."""
        return self.divergence(w, ref) <= self.radius + tol

    def _divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """Divergences of a flat ``N x K`` float64 batch from ``ref`` (``K``)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not measure divergences; implement _divergence()"
        )

    # ------------------------------------------------------------------ solving
    def worst_case(self, u: Tensor, ref: Tensor) -> WorstCase:
        """Worst-case expected utility and distribution.

        Args:
            u: ``batch x K`` utilities, higher is better (any leading batch shape, or just ``K``).
                Any real dtype; computation is float64. May require grad.
            ref: ``K`` reference distribution (non-negative, summing to 1 within 1e-6).

        Returns:
            :class:`WorstCase` with ``value`` (``batch``) and ``weights`` (``batch x K``).
        """
        return self._run(u, ref)[0]

    def worst_case_with_dual(self, u: Tensor, ref: Tensor) -> tuple[WorstCase, Tensor]:
        """Like :meth:`worst_case`, plus the optimal dual variable (``batch``, float64).

        The dual variable is the one :meth:`dual_value` takes; at it the dual objective equals
        the worst-case value (strong duality). See each set for its meaning.
        """
        self._require_dual()
        worst, dual = self._run(u, ref)
        assert dual is not None
        return worst, dual

    def dual_value(self, u: Tensor, ref: Tensor, dual: Tensor | float) -> Tensor:
        """The dual objective at ``dual``: a lower bound on the worst-case value for any feasible
        ``dual``, equal to it at the optimal one.

        Args:
            u: ``batch x K`` utilities.
            ref: ``K`` reference distribution.
            dual: dual variable, a float or a tensor broadcastable to ``batch``.

        Returns:
            ``batch`` dual objective values (float64).
        """
        self._require_dual()
        u64, q = prepare_inputs(u, ref)
        k = u64.shape[-1]
        dual_t = torch.as_tensor(dual, dtype=torch.float64, device=u64.device)
        dual_t = torch.broadcast_to(dual_t, u64.shape[:-1]).reshape(-1)
        self._check_dual(dual_t)
        if dual_t.numel() == 0:
            return torch.zeros(u64.shape[:-1], dtype=torch.float64, device=u64.device)
        with torch.no_grad():
            out = self._dual(u64.detach().reshape(-1, k), q, dual_t)
        return out.reshape(u64.shape[:-1])

    def _run(self, u: Tensor, ref: Tensor) -> tuple[WorstCase, Tensor | None]:
        u64, q = prepare_inputs(u, ref)
        flat = u64.detach().reshape(-1, u64.shape[-1])
        with torch.no_grad():
            if flat.shape[0] == 0:  # empty batch: nothing to solve
                weights, dual = flat.clone(), (flat.sum(-1) if self.has_dual else None)
            else:
                weights, dual = self._solve(flat, q)
        weights = weights.reshape(u64.shape)
        value = (weights * u64).sum(-1)  # Danskin: d value / d u = weights
        if dual is not None:
            dual = dual.reshape(u64.shape[:-1])
        return WorstCase(value, weights), dual

    def _check_dual(self, dual: Tensor) -> None:
        if bool(dual.isnan().any()):
            bad = "nan"
        elif self.dual_nonnegative and bool((dual < 0).any()):
            bad = repr(dual.min().item())
        else:
            return
        bound = ">= 0" if self.dual_nonnegative else "a number"
        raise AmbiguitySetError(
            f"{type(self).__name__} dual variable must be {bound}, got {bad}; pass the dual "
            "returned by worst_case_with_dual or any other value in the dual domain"
        )

    def _require_dual(self) -> None:
        if not self.has_dual:
            raise NotImplementedError(f"{type(self).__name__} has no dual variable")

    @abstractmethod
    def _solve(self, u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor | None]:
        """Solve the worst case for a flat batch (called under ``torch.no_grad()``).

        Args:
            u: ``N x K`` float64 utilities, finite, detached.
            ref: ``K`` float64 reference distribution, summing to 1.

        Returns:
            ``N x K`` worst-case weights and the ``N`` optimal dual variables (or ``None``).
        """

    def _dual(self, u: Tensor, ref: Tensor, dual: Tensor) -> Tensor:
        """Dual objective for a flat batch: ``u`` ``N x K``, ``ref`` ``K``, ``dual`` ``N``."""
        raise NotImplementedError(f"{type(self).__name__} has no dual objective")


# ---------------------------------------------------------------------- validation helpers
def prepare_inputs(u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
    """Validate ``u`` and ``ref`` and promote both to float64 on ``u``'s device.

    Args:
        u: ``batch x K`` utilities (tensor or array-like).
        ref: ``K`` reference distribution (tensor or array-like).

    Returns:
        ``u`` as float64 (still attached to autograd) and ``ref`` as a detached float64 ``K``
        vector renormalised to sum to exactly 1.
    """
    u64 = as_float64(u, "u")
    if u64.dim() == 0 or u64.shape[-1] == 0:
        raise AmbiguitySetError(
            f"u must have shape batch x K with K >= 1 groups, got shape {tuple(u64.shape)}; "
            "pass one utility per group in the last dimension"
        )
    if not bool(torch.isfinite(u64).all()):
        raise AmbiguitySetError(
            "u contains NaN or inf; expected finite utilities (check the surrogate's posterior)"
        )
    return u64, check_reference(ref, u64.shape[-1], u64.device)


def prepare_distributions(w: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
    """Validate distributions ``w`` (``batch x K``) and ``ref`` (``K``) and return both as
    float64, each renormalised to sum to exactly 1 (see :func:`check_reference`)."""
    w64 = as_float64(w, "w")
    if w64.dim() == 0 or w64.shape[-1] == 0:
        raise AmbiguitySetError(
            f"w must have shape batch x K with K >= 1 groups, got shape {tuple(w64.shape)}"
        )
    if not bool(torch.isfinite(w64).all()) or bool((w64 < 0).any()):
        raise AmbiguitySetError("w must be finite and non-negative: distributions over groups")
    total = w64.sum(-1, keepdim=True)
    if bool(((total - 1.0).abs() > REF_SUM_TOL).any()):
        raise AmbiguitySetError(
            f"each row of w must sum to 1 (within {REF_SUM_TOL:g}); divide it by its sum"
        )
    return w64 / total, check_reference(ref, w64.shape[-1], w64.device)


def check_reference(ref: Tensor, k: int, device: torch.device) -> Tensor:
    """Validate a reference distribution over ``k`` groups and return it as float64, sum 1.

    Args:
        ref: ``K`` reference weights.
        k: The number of groups K that ``u`` has.
        device: Device to put the result on.

    Returns:
        ``K`` float64 reference distribution (detached).
    """
    q = as_float64(ref, "ref").detach().to(device)
    if q.shape != (k,):
        raise AmbiguitySetError(
            f"ref must be a vector of K={k} weights to match u's last dimension, got shape "
            f"{tuple(q.shape)}; pass one reference weight per group"
        )
    if not bool(torch.isfinite(q).all()) or bool((q < 0).any()):
        raise AmbiguitySetError(
            f"ref must be finite and non-negative, got min {q.min().item()!r}; "
            "clip or renormalise the reference weights"
        )
    total = q.sum()
    if abs(total.item() - 1.0) > REF_SUM_TOL:
        raise AmbiguitySetError(
            f"ref must sum to 1 (within {REF_SUM_TOL:g}), got sum {total.item()!r}; "
            "divide the reference weights by their sum"
        )
    return q / total


def as_float64(x: Tensor | ArrayLike, what: str) -> Tensor:
    """Turn a real tensor or array-like into a float64 tensor (autograd kept for tensors)."""
    t = x if isinstance(x, Tensor) else torch.as_tensor(x)
    if t.is_complex() or t.dtype == torch.bool:
        raise AmbiguitySetError(f"{what} must be real numbers, got dtype {t.dtype}")
    return t.to(torch.float64)


def _as_float(value: float, owner: str, name: str) -> float:
    if isinstance(value, bool):
        raise AmbiguitySetError(f"{owner} radius {name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AmbiguitySetError(
            f"{owner} radius {name} must be a number, got {value!r}; pass e.g. {owner}(0.1)"
        ) from None


def min_over_support(u: Tensor, ref: Tensor) -> Tensor:
    """``N x 1`` minimum of ``u`` (``N x K``) over the atoms where ``ref > 0``."""
    return torch.where(ref > 0, u, torch.full_like(u, math.inf)).amin(-1, keepdim=True)


def shift_to_unit(u: Tensor, ref: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Translate and scale ``u`` (``N x K``) to ``v`` in ``[0, 1]`` on the support of ``ref``.

    Returns ``(v, u_min, spread)`` with ``u = u_min + spread * v`` on the support (``v = 0``
    off it), ``u_min`` and ``spread`` of shape ``N x 1``. The worst cases of the phi-divergence
    balls are translation-equivariant and scale-equivariant, so their solvers work on ``v``.
    """
    u_min = min_over_support(u, ref)
    v = torch.where(ref > 0, u - u_min, 0.0)
    spread = v.amax(-1, keepdim=True)
    return v / torch.where(spread > 0, spread, 1.0), u_min, spread
