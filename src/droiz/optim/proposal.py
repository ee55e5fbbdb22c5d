"""The round contract: what ``ask`` returns, and how told rows are matched to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from numpy.typing import ArrayLike
from torch import Tensor

from droiz.exceptions import ConfigError, ShapeError

if TYPE_CHECKING:
    from droiz.optim.config import EngineConfig

MATCH_TOL = 1e-7
"""A told row is the asked row within this max-norm distance (float32 round trips are ~3e-8;
asked points are more than 1e-6 apart, so a match is unique)."""


@dataclass(frozen=True, eq=False)
class Proposal:
    """One round's proposal: evaluate each row of ``z`` on the groups marked in ``groups``.

    Attributes:
        z: ``n x d`` soft prompts in ``[-1, 1]^d`` (float64).
        groups: ``n x K`` bool, the groups to evaluate each point on.
        round: The round, counted from 1 (0: the initial design).
        weights: ``K`` reference weights the acquisition used (the ambiguity set's centre).
        id: Identifies the proposal (``tell`` checks it).
        index: In a candidate search (``RobustBO(candidates=...)``), the candidate of each row
            (``n``, long; ``z`` holds its scaled features); ``None`` otherwise.

    ``proposal[rows]`` is the same proposal restricted to some rows (tell a round in parts).
    """

    z: Tensor
    groups: Tensor
    round: int
    weights: Tensor
    id: str
    index: Tensor | None = None

    def __len__(self) -> int:
        return len(self.z)

    def __getitem__(self, rows: int | slice | Sequence[int] | Tensor) -> Proposal:
        z, groups = self.z[rows], self.groups[rows]
        index = None if self.index is None else self.index[rows]
        if z.dim() == 1:
            z, groups = z.unsqueeze(0), groups.unsqueeze(0)
            index = None if index is None else index.reshape(1)
        return Proposal(z, groups, self.round, self.weights, self.id, index)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "z": self.z.tolist(),
            "groups": self.groups.tolist(),
            "round": self.round,
            "weights": self.weights.tolist(),
            "id": self.id,
        }
        if self.index is not None:
            out["index"] = self.index.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proposal:
        z = torch.tensor(data["z"], dtype=torch.float64)
        k = len(data["weights"])
        index = data.get("index")
        return cls(
            z.reshape(len(data["z"]), -1),
            torch.tensor(data["groups"], dtype=torch.bool).reshape(len(z), k),
            int(data["round"]),
            torch.tensor(data["weights"], dtype=torch.float64),
            str(data["id"]),
            None if index is None else torch.tensor(index, dtype=torch.long).reshape(-1),
        )


def match_rows(z: Tensor, proposal: Proposal, untold: Tensor) -> Tensor:
    """Index into ``proposal`` of each told row of ``z`` (``n``); raises on a row that was never
    asked, was told already, or is told twice."""
    dist = (z.unsqueeze(1) - proposal.z.unsqueeze(0)).abs().amax(-1)  # n x m
    best = dist.argmin(-1) if dist.shape[-1] else torch.zeros(len(z), dtype=torch.long)
    seen: set[int] = set()
    for i, j in enumerate(best.tolist()):
        if not dist.shape[-1] or dist[i, j] > MATCH_TOL:
            raise ConfigError(
                f"row {i} of z was never asked in proposal {proposal.id}; tell the points ask() "
                "returned, or pass external=True for evaluations of your own"
            )
        if not untold[j] or j in seen:
            raise ConfigError(
                f"row {i} of z (row {j} of proposal {proposal.id}) was already told; tell each "
                "asked point once"
            )
        seen.add(j)
    return best


def check_groups(asked: Tensor, given: Tensor | ArrayLike | None, n_groups: int) -> Tensor:
    """The told mask: ``given`` (``n x K``) must cover every asked group; default: ``asked``."""
    if given is None:
        return asked
    mask = torch.as_tensor(given)
    if mask.shape != asked.shape:
        raise ShapeError(
            f"groups must be {len(asked)} x {n_groups} like the rows told, got {tuple(mask.shape)}"
        )
    mask = mask.to(torch.bool)
    missing = asked & ~mask
    if missing.any():
        i = int(missing.any(-1).nonzero()[0])
        left_out = missing[i].nonzero().flatten().tolist()
        raise ConfigError(
            f"row {i}: groups {left_out} were asked but groups= leaves them out; tell every asked "
            "group (more are fine), or abandon() the rows you cannot evaluate"
        )
    return mask


def resolve_rows(
    z_or_proposal: Proposal | Tensor | ArrayLike,
    groups: Tensor | ArrayLike | None,
    open_: Proposal | None,
    untold: Tensor,
    external: bool,
    config: EngineConfig,
    remaining: int,
) -> tuple[Tensor, Tensor | None, Tensor | ArrayLike]:
    """What a ``tell`` stores: the points (the asked float64 rows), their index in the open
    proposal (``None``: external evaluations) and the groups mask; raises on a contract breach."""
    if isinstance(z_or_proposal, Proposal):
        if external:
            raise ConfigError("a Proposal's rows were asked; external=True is for your own")
        if open_ is None or z_or_proposal.id != open_.id:
            raise ConfigError(
                f"proposal {z_or_proposal.id} is not open (told in full, abandoned, or from "
                "another engine); tell the last proposal ask() returned"
            )
    z = torch.as_tensor(getattr(z_or_proposal, "z", z_or_proposal))
    z = z.detach().to("cpu", torch.float64)
    if z.dim() != 2 or z.shape[-1] != config.dim:
        raise ShapeError(f"z must be n x {config.dim}, got shape {tuple(z.shape)}")
    if len(z) == 0:
        raise ConfigError("tell() got no evaluations (0 rows); tell at least one point")
    if external:
        if groups is None:
            raise ConfigError("tell(..., external=True) needs groups= (no proposal to copy)")
        if len(z) > remaining:
            raise ConfigError(
                f"tell() got {len(z)} external evaluations but only {remaining} remain in the "
                f"budget of {config.budget}; tell fewer or use a larger budget"
            )
        return z, None, groups
    if open_ is None:
        raise ConfigError(
            "these points were never asked (no proposal is open); ask() first, or pass "
            "external=True for evaluations of your own (they count toward the initial design)"
        )
    rows = match_rows(z, open_, untold)
    return open_.z[rows], rows, check_groups(open_.groups[rows], groups, config.n_groups)
