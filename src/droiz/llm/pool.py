"""A fixed pool of candidate instructions: reading it, its candidates' features, its generator.

A pool file is a text file (one instruction per line), a JSON list of strings, or a ``.jsonl``
file with one ``{"instruction": ..., "features": [...]}`` object per line (features optional, but
then on every line and of one length). A run with a pool searches the candidates themselves
(:class:`~droiz.optim.RobustBO` with ``candidates=``): their features are the ``.jsonl`` file's,
or the instructions' sentence embeddings reduced by a seeded PCA (:func:`pool_features`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor

from droiz._imports import require
from droiz.exceptions import ConfigError
from droiz.llm.base import Capabilities, Generator, check_z, make_fingerprint
from droiz.llm.prompts import Demo
from droiz.validate import check_line_length, read_input_text


class PoolFile(NamedTuple):
    """A pool file's instructions and, for a ``.jsonl`` file that gives them, their features
    (``N x p`` rows of numbers; ``None`` otherwise)."""

    instructions: list[str]
    features: list[list[float]] | None


def read_pool(path: str | os.PathLike[str]) -> PoolFile:
    """Read a pool file: ``.jsonl`` (by its suffix) one ``{"instruction": ..., "features":
    [...]}`` object per line, else what :func:`load_pool` reads.

    Raises:
        ConfigError: Unreadable, or (``.jsonl``) a line that is not such an object, features on
            some lines only or of different lengths (one line, naming the line).
    """
    path = Path(path)
    if path.suffix.lower() != ".jsonl":
        return PoolFile(load_pool(path), None)
    texts: list[str] = []
    rows: list[list[float] | None] = []
    for number, line in enumerate(_lines(path, _read_text(path)), 1):
        if not line.strip():
            continue
        texts.append(_pool_line(path, number, line, rows))
    if not texts:
        return PoolFile([], None)
    if len({r is None for r in rows}) > 1:
        raise ConfigError(
            f"instruction pool {str(path)!r}: give features on every line or on none "
            f"(line {_first_line(path, [r is None for r in rows])} differs from line 1)"
        )
    if rows[0] is None:
        return PoolFile(texts, None)
    widths = [len(r or ()) for r in rows]
    if len(set(widths)) > 1 or widths[0] == 0:
        raise ConfigError(
            f"instruction pool {str(path)!r}: every line needs features of one non-zero length, "
            f"got lengths {sorted(set(widths))}"
        )
    return PoolFile(texts, [list(r or ()) for r in rows])


def _pool_line(path: Path, number: int, line: str, rows: list[list[float] | None]) -> str:
    """One line of a ``.jsonl`` pool: its instruction (its features appended to ``rows``)."""
    where = f"instruction pool {str(path)!r} line {number}"
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        raise ConfigError(
            f'{where} is not JSON; expected {{"instruction": "...", "features": [numbers]}}'
        ) from None
    text = row.get("instruction") if isinstance(row, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f'{where}: expected a JSON object with a non-empty "instruction" string')
    unknown = sorted(set(row) - {"instruction", "features"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (keys: instruction, features)")
    feats = row.get("features")
    numbers = isinstance(feats, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
        for v in feats
    )
    if feats is not None and not numbers:
        raise ConfigError(f'{where}: "features" must be a list of finite numbers')
    rows.append(None if feats is None else [float(v) for v in feats])
    return text.strip()


def _first_line(path: Path, missing: list[bool]) -> int:
    """The file line of the first instruction whose ``missing`` differs from the first's."""
    index = next(i for i, m in enumerate(missing) if m != missing[0])
    lines = [n for n, line in enumerate(_read_text(path).splitlines(), 1) if line.strip()]
    return lines[index]


def _read_text(path: Path) -> str:
    """The pool file's text: a regular UTF-8 file (a named pipe would block until a writer
    comes)."""
    return read_input_text(path, "the instruction pool")


def _lines(path: Path, text: str) -> list[str]:
    """The lines of a text or ``.jsonl`` pool, each at most
    :data:`~droiz.validate.MAX_LINE_BYTES` long (one instruction)."""
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        check_line_length(f"instruction pool {str(path)!r}: line {number}", line)
    return lines


def load_pool(path: str | Path) -> list[str]:
    """Read candidate instructions: a JSON list of strings, a text file with one per line, or
    a ``.jsonl`` file (:func:`read_pool`).

    Blank lines are skipped and surrounding whitespace stripped; a ``.json`` file (or any file
    whose content starts with ``[``) is read as JSON. An instruction (a line, or an item of the
    JSON list) is at most :data:`~droiz.validate.MAX_LINE_BYTES` long.
    """
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        return read_pool(path).instructions
    text = _read_text(path)
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
    return [line.strip() for line in _lines(path, text) if line.strip()]


def pool_features(
    pool: PoolFile, *, dim: int, seed: int, embedder: str | None = None
) -> list[list[float]]:
    """The candidates' features of a pool: the ``.jsonl`` file's own, else the instructions'
    sentence embeddings (:class:`~droiz.llm.embed.SentenceEmbedder`, all-MiniLM-L6-v2 unless
    ``embedder`` names another model) reduced to ``min(dim, N, D)`` dimensions by scikit-learn's
    PCA with ``random_state=seed`` (exact SVD for small pools; a single candidate gets the one
    feature 0, no embedding). Memoised per pool and settings.

    Raises:
        ConfigError: The pool is empty or repeats an instruction.
        MissingDependencyError: Embeddings are needed and ``droiz[semantic]`` is not installed.
    """
    texts = pool.instructions
    if not texts:
        raise ConfigError("the instruction pool is empty")
    seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        if text in seen:
            raise ConfigError(
                f"the instruction pool repeats instruction {seen[text]} as {i} ({text[:40]!r}); "
                "keep each instruction once"
            )
        seen[text] = i
    if pool.features is not None:
        return [list(row) for row in pool.features]
    return [list(r) for r in _embedded_features(tuple(texts), int(dim), int(seed), embedder)]


@functools.lru_cache(maxsize=8)
def _embedded_features(
    texts: tuple[str, ...], dim: int, seed: int, embedder: str | None
) -> tuple[tuple[float, ...], ...]:
    require("sentence_transformers", "semantic")
    decomposition = require("sklearn.decomposition", "semantic")
    from droiz.llm.embed import SentenceEmbedder

    if len(texts) == 1:  # one candidate: nothing to reduce (PCA needs two samples)
        return ((0.0,),)
    vectors = SentenceEmbedder(embedder).embed(list(texts)).numpy()
    k = min(dim, *vectors.shape)
    reduced = decomposition.PCA(n_components=k, random_state=seed).fit_transform(vectors)
    return tuple(tuple(float(v) for v in row) for row in reduced)


class PoolGenerator(Generator):
    """Maps ``z`` to the instruction whose anchor is nearest, after a projection.

    A run with a pool searches the candidates themselves: ``features`` are the engine's scaled
    candidate features (:attr:`droiz.optim.RobustBO.candidates`), each instruction's anchor is its
    row and the projection is the identity, so every ``z`` the engine asks is exactly one
    candidate's features and maps to that candidate.

    Without ``features`` (the mapping of run directories saved by droiz before the candidate
    search, which resume with it; also a test stub for the soft-prompt generator), each
    instruction ``i`` gets an anchor ``a_i`` drawn uniformly from ``[-1, 1]^d`` with the seed;
    ``P`` is a seeded ``d x m`` Gaussian matrix (``m = proj_dim``). A soft prompt ``z`` maps to
    ``argmin_i ||P^T z - P^T a_i||`` (the first index on ties). The demos are ignored.

    Args:
        pool: Instructions, or a file for :func:`load_pool`.
        dim: Soft-prompt dimension ``d`` (the width of ``features`` when they are given).
        proj_dim: Projection dimension ``m`` (``<= d``) of the random-anchor mapping.
        seed: Seed of the anchors and the projection.
        features: ``N x d`` anchors, one per instruction (the candidate search's).
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

    @classmethod
    def candidate_features(
        cls, value: str, *, dim: int, seed: int, embedder: str | None = None
    ) -> list[list[float]]:
        """The features of the pool file ``value``'s candidates (:func:`pool_features`)."""
        return pool_features(read_pool(value), dim=dim, seed=seed, embedder=embedder)

    def __init__(
        self,
        pool: Sequence[str] | str | Path,
        *,
        dim: int = 10,
        proj_dim: int = 2,
        seed: int = 0,
        features: object = None,
    ) -> None:
        self.source = str(pool) if isinstance(pool, str | Path) else "inline"
        self.instructions = (
            load_pool(pool) if isinstance(pool, str | Path) else [str(s) for s in pool]
        )
        if not self.instructions:
            raise ConfigError(f"the instruction pool {self.source!r} is empty")
        self.seed = int(seed)
        if features is not None:
            self.anchors = torch.as_tensor(features, dtype=torch.float64)
            if self.anchors.shape[0] != len(self.instructions) or self.anchors.dim() != 2:
                raise ConfigError(
                    f"features must be {len(self.instructions)} rows, one per instruction of "
                    f"the pool {self.source!r}, got shape {tuple(self.anchors.shape)}"
                )
            self.dim = self.proj_dim = int(self.anchors.shape[-1])
            self.projection = torch.eye(self.dim, dtype=torch.float64)
        else:
            if not 1 <= proj_dim <= dim:
                raise ConfigError(f"need 1 <= proj_dim <= dim, got proj_dim={proj_dim}, dim={dim}")
            self.dim, self.proj_dim = int(dim), int(proj_dim)
            gen = torch.Generator().manual_seed(self.seed)
            anchors = torch.rand(len(self.instructions), dim, generator=gen, dtype=torch.float64)
            self.anchors = anchors * 2 - 1
            self.projection = torch.randn(dim, proj_dim, generator=gen, dtype=torch.float64)
        self.candidate_search = features is not None
        self._points = self.anchors @ self.projection

    def __repr__(self) -> str:
        return f"PoolGenerator({self.source!r}, n={len(self.instructions)}, seed={self.seed})"

    @property
    def fingerprint(self) -> str:
        params: dict[str, Any] = {"pool": self.instructions, "dim": self.dim}
        if self.candidate_search:  # anchors are the candidates' features
            return make_fingerprint(
                "pool", self.source, {**params, "features": self.anchors.tolist()}
            )
        params["proj_dim"] = self.proj_dim
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
