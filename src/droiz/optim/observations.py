"""The evaluations told to the engine, validated at the boundary."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor

from droiz.exceptions import ConfigError, ShapeError
from droiz.optim.config import EngineConfig
from droiz.surrogate.build import KERNELS, KernelInputs


class Added(NamedTuple):
    """The rows one ``tell`` added: ``y`` (``n x K``, NaN where unobserved) and ``mask``."""

    y: Tensor
    mask: Tensor


def _as_f64(name: str, value: Tensor | ArrayLike, n: int | None = None) -> Tensor:
    if isinstance(value, torch.Tensor):
        t = value.detach().to(device="cpu", dtype=torch.float64)
    else:  # lists (JSON) and arrays: straight to float64, never through float32
        t = torch.as_tensor(np.asarray(value, dtype=np.float64))
    if t.dim() != 2 or (n is not None and len(t) != n):
        want = "n x ?" if n is None else f"{n} x ?"
        raise ShapeError(f"{name} must be a {want} matrix, got shape {tuple(t.shape)}")
    return t


class Observations:
    """Soft prompts ``z`` (``n x d``), per-group means ``y`` (``n x K``, NaN where not observed),
    masks, and the optional per-example scores (``n x E``) and embeddings (``n x D``)."""

    def __init__(self, dim: int, n_groups: int) -> None:
        self.dim, self.n_groups = dim, n_groups
        self.z = torch.zeros(0, dim, dtype=torch.float64)
        self.y = torch.zeros(0, n_groups, dtype=torch.float64)
        self.mask = torch.zeros(0, n_groups, dtype=torch.bool)
        self.scores: Tensor | None = None
        self.embeddings: Tensor | None = None

    def __len__(self) -> int:
        return len(self.z)

    def add(
        self,
        z: Tensor | ArrayLike,
        y: Tensor | ArrayLike,
        groups: Tensor | ArrayLike,
        scores: Tensor | ArrayLike | None = None,
        embeddings: Tensor | ArrayLike | None = None,
    ) -> Added:
        zt, yt, mask = self._validate(z, y, groups)
        extra_s = None if scores is None else self._check_scores(scores, len(zt))
        extra_e = None if embeddings is None else self._check_embeddings(embeddings, len(zt))
        if len(self) and ((self.scores is None) != (extra_s is None)):
            raise ConfigError("give per-example scores in every tell() or in none")
        if len(self) and ((self.embeddings is None) != (extra_e is None)):
            raise ConfigError("give embeddings in every tell() or in none")
        yt = torch.where(mask, yt, float("nan"))
        self.z = torch.cat([self.z, zt])
        self.y = torch.cat([self.y, yt])
        self.mask = torch.cat([self.mask, mask])
        if extra_s is not None:
            self.scores = extra_s if self.scores is None else torch.cat([self.scores, extra_s])
        if extra_e is not None:
            base = self.embeddings
            self.embeddings = extra_e if base is None else torch.cat([base, extra_e])
        return Added(yt, mask)

    def _validate(
        self, z: Tensor | ArrayLike, y: Tensor | ArrayLike, groups: Tensor | ArrayLike
    ) -> tuple[Tensor, Tensor, Tensor]:
        zt = _as_f64("z", z)
        n = len(zt)
        if zt.shape[-1] != self.dim:
            raise ShapeError(f"z must be n x {self.dim}, got shape {tuple(zt.shape)}")
        if not torch.isfinite(zt).all() or zt.abs().max() > 1.0 + 1e-9:
            raise ConfigError("z must be finite and inside [-1, 1]^d; tell the points ask() gave")
        yt = _as_f64("y", y, n)
        mask = torch.as_tensor(groups)
        if mask.shape != (n, self.n_groups) or yt.shape != (n, self.n_groups):
            raise ShapeError(
                f"y and groups must both be {n} x {self.n_groups}, got {tuple(yt.shape)} and "
                f"{tuple(mask.shape)}"
            )
        mask = mask.to(torch.bool)
        if not mask.any(-1).all():
            raise ConfigError("every evaluation must observe at least one group (groups row)")
        if not torch.isfinite(yt[mask]).all():
            raise ConfigError("y must be finite wherever groups is True (NaN only elsewhere)")
        return zt, yt, mask

    def _check_scores(self, scores: Tensor | ArrayLike, n: int) -> Tensor:
        s = _as_f64("scores", scores, n)
        if self.scores is not None and s.shape[-1] != self.scores.shape[-1]:
            raise ShapeError(f"scores must have {self.scores.shape[-1]} columns, got {s.shape[-1]}")
        ok = torch.isnan(s) | ((s >= 0) & (s <= 1))
        if not ok.all():
            raise ConfigError("per-example scores must lie in [0, 1] (NaN where not evaluated)")
        return s

    def _check_embeddings(self, emb: Tensor | ArrayLike, n: int) -> Tensor:
        e = _as_f64("embeddings", emb, n)
        if not torch.isfinite(e).all():
            raise ConfigError("embeddings must be finite")
        if self.embeddings is not None and e.shape[-1] != self.embeddings.shape[-1]:
            raise ShapeError(f"embeddings must have {self.embeddings.shape[-1]} columns")
        return e

    def y_nan(self) -> Tensor:
        return self.y

    def y_mean(self) -> Tensor:
        """The mean of all observed values (a scalar tensor; 0.5 before any observation)."""
        obs = self.y[self.mask]
        return obs.mean() if len(obs) else torch.tensor(0.5, dtype=torch.float64)

    def kernel_inputs(self, config: EngineConfig, reference: Tensor) -> KernelInputs:
        """What the configured kernel needs this round (scores, embeddings, weights)."""
        needs = KERNELS.get(config.kernel).needs
        if "embeddings" in needs and self.embeddings is None:
            raise ConfigError(f"kernel {config.kernel!r} needs tell(..., embeddings=...)")
        if "scores" in needs and self.scores is None:
            raise ConfigError(f"kernel {config.kernel!r} needs tell(..., scores=...)")
        groups = self._example_groups(config) if self.scores is not None else None
        return KernelInputs(
            scores=self.scores,
            example_groups=groups,
            embeddings=self.embeddings,
            weights=reference,
        )

    def permute_tail(self, start: int, order: list[int]) -> None:
        """Reorder the rows from ``start`` on: row ``start + i`` becomes ``start + order[i]``'s."""
        idx = torch.cat([torch.arange(start), start + torch.tensor(order, dtype=torch.long)])
        self.z, self.y, self.mask = self.z[idx], self.y[idx], self.mask[idx]
        if self.scores is not None:
            self.scores = self.scores[idx]
        if self.embeddings is not None:
            self.embeddings = self.embeddings[idx]

    def _example_groups(self, config: EngineConfig) -> Tensor:
        assert self.scores is not None  # the score kernels' tells all give scores
        e = self.scores.shape[-1]
        if config.example_groups is not None:
            if len(config.example_groups) != e:
                raise ConfigError(
                    f"example_groups has {len(config.example_groups)} entries, "
                    f"scores have {e} columns"
                )
            return torch.tensor(config.example_groups)
        if e % self.n_groups:
            raise ConfigError(
                f"{e} score columns cannot be split into {self.n_groups} equal groups; pass "
                f"example_groups= with the group of each example"
            )
        return torch.arange(self.n_groups).repeat_interleave(e // self.n_groups)

    def to_dict(self) -> dict[str, Any]:
        def rows(t: Tensor | None) -> list[list[float | None]] | None:
            if t is None:
                return None
            return [[None if v != v else v for v in row] for row in t.tolist()]

        return {
            "z": self.z.tolist(),
            "y": rows(self.y),
            "mask": self.mask.tolist(),
            "scores": rows(self.scores),
            "embeddings": rows(self.embeddings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], config: EngineConfig) -> Observations:
        obs = cls(config.dim, config.n_groups)

        def tensor(rows: list[list[float | None]] | None, width: int) -> Tensor | None:
            if rows is None:
                return None
            vals = [[float("nan") if v is None else v for v in r] for r in rows]
            return torch.tensor(vals, dtype=torch.float64).reshape(len(vals), width)

        if data["z"]:
            y = tensor(data["y"], config.n_groups)
            if y is None:
                raise ShapeError("y must be a n x ? matrix, got none")
            s, e = data["scores"], data["embeddings"]
            obs.add(
                data["z"],
                y,
                torch.tensor(data["mask"], dtype=torch.bool),
                scores=tensor(s, len(s[0])) if s else None,
                embeddings=tensor(e, len(e[0])) if e else None,
            )
        return obs
