"""The nominal "set" ``{ref}``: no robustness, ``V(u) = <u, ref>``."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet
from droiz.ambiguity.tv import total_variation
from droiz.exceptions import AmbiguitySetError


@AMBIGUITY_SETS.register("nominal")
class Nominal(AmbiguitySet):
    """The reference distribution itself: value ``<u, ref>``, weights ``ref``.

    Used by the non-robust baselines through the same interface as the robust sets. It has no
    radius (``radius == 0``) and no dual variable.
    """

    name = "nominal"
    has_dual = False

    def __init__(self) -> None:
        super().__init__(0.0)

    def __repr__(self) -> str:
        return "Nominal()"

    def to_spec(self) -> str:
        return self.name

    @classmethod
    def from_spec(cls, spec: str, arg: str | None) -> AmbiguitySet:
        if arg is not None:
            raise AmbiguitySetError(
                f"ambiguity spec {spec!r}: 'nominal' takes no radius; write just 'nominal'"
            )
        return cls()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AmbiguitySet:
        return cls()

    def _divergence(self, w: Tensor, ref: Tensor) -> Tensor:
        """Half the L1 distance: the set ``{ref}`` is every ball of radius 0."""
        return total_variation(w, ref)

    def _solve(self, u: Tensor, ref: Tensor) -> tuple[Tensor, None]:
        return ref.expand_as(u).clone(), None
