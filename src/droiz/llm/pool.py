"""A generator that maps soft prompts to a fixed pool of candidate instructions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from droiz.exceptions import ConfigError
from droiz.llm.base import Capabilities, Generator, check_z, make_fingerprint
from droiz.llm.prompts import Demo
from droiz.validate import check_line_length


def load_pool(path: str | Path) -> list[str]:
    """Read candidate instructions: a JSON list of strings, or a text file with one per line.

    Blank lines are skipped and surrounding whitespace stripped; a ``.json`` file (or any file
    whose content starts with ``[``) is read as JSON. An instruction (a line, or an item of the
    JSON list) is at most :data:`~droiz.validate.MAX_LINE_BYTES` long.
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # a named pipe would block until a writer comes
        raise ConfigError(f"cannot read the instruction pool {str(path)!r}: not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ConfigError(f"cannot read the instruction pool {str(path)!r}: {reason}") from None
    where = f"instruction pool {str(path)!r}"
    if path.suffix == ".json" or text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{where} is not valid JSON: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{where} must be a JSON list of strings") from None
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise ConfigError(f"{where} must be a JSON list of strings")
        for i, item in enumerate(items, 1):
            check_line_length(f"{where}: item {i}", item)
        return [s.strip() for s in items if s.strip()]
    lines = text.splitlines()
    for i, line in enumerate(lines, 1):
        check_line_length(f"{where}: line {i}", line)
    return [line.strip() for line in lines if line.strip()]


class PoolGenerator(Generator):
    """Maps ``z`` to the instruction whose anchor is nearest after a seeded random projection.

    Each instruction ``i`` gets an anchor ``a_i`` drawn uniformly from ``[-1, 1]^d`` with the seed;
    ``P`` is a seeded ``d x m`` Gaussian matrix (``m = proj_dim``). A soft prompt ``z`` maps to
    ``argmin_i ||P^T z - P^T a_i||`` (the first index on ties). Every instruction is reachable:
    ``a_i`` itself maps to ``i`` unless two projected anchors coincide. A small ``proj_dim`` makes
    the score depend on few directions of ``z``, a landscape a surrogate can learn quickly.

    Used as a test stub for the soft-prompt generator, and to choose robustly among one's own
    candidates (``pool:FILE``). The demos are ignored.

    Args:
        pool: Instructions, or a file for :func:`load_pool`.
        dim: Soft-prompt dimension ``d``.
        proj_dim: Projection dimension ``m`` (``<= d``).
        seed: Seed of the anchors and the projection.
    """

    capabilities = Capabilities(token_option=None)

    @classmethod
    def check_value(cls, value: str, flag: str) -> None:
        """The pool file can be read and holds instructions."""
        if not load_pool(value):
            raise ConfigError(f"the instruction pool {value!r} is empty")

    @classmethod
    def candidates(cls, value: str) -> list[str]:
        """The instructions of the pool file ``value``."""
        return load_pool(value)

    def __init__(
        self, pool: Sequence[str] | str | Path, *, dim: int = 10, proj_dim: int = 2, seed: int = 0
    ) -> None:
        self.source = str(pool) if isinstance(pool, str | Path) else "inline"
        self.instructions = (
            load_pool(pool) if isinstance(pool, str | Path) else [str(s) for s in pool]
        )
        if not self.instructions:
            raise ConfigError(f"the instruction pool {self.source!r} is empty")
        if not 1 <= proj_dim <= dim:
            raise ConfigError(f"need 1 <= proj_dim <= dim, got proj_dim={proj_dim}, dim={dim}")
        self.dim, self.proj_dim, self.seed = int(dim), int(proj_dim), int(seed)
        gen = torch.Generator().manual_seed(seed)
        self.anchors = torch.rand(len(self.instructions), dim, generator=gen, dtype=torch.float64)
        self.anchors = self.anchors * 2 - 1
        self.projection = torch.randn(dim, proj_dim, generator=gen, dtype=torch.float64)
        self._points = self.anchors @ self.projection

    def __repr__(self) -> str:
        return f"PoolGenerator({self.source!r}, n={len(self.instructions)}, seed={self.seed})"

    @property
    def fingerprint(self) -> str:
        params = {"pool": self.instructions, "dim": self.dim, "proj_dim": self.proj_dim}
        return make_fingerprint("pool", self.source, {**params, "seed": self.seed})

    def indices(self, z: Tensor) -> Tensor:
        """Index into :attr:`instructions` of each row of ``z`` (``n``, long)."""
        z = check_z(z, self.dim)
        dist = torch.cdist(
            z @ self.projection, self._points, compute_mode="donot_use_mm_for_euclid_dist"
        )
        return dist.argmin(dim=-1)

    def generate(self, z: Tensor, demos: Sequence[Demo] = ()) -> list[str]:
        return [self.instructions[i] for i in self.indices(z).tolist()]
