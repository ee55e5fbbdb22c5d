"""Synthetic answer tables in the format of ``droiz bench table build``, for the replay's tests
and benchmark (SIMULATED scores: no model produced them).

The pool is the full factorial of three factors (levels ``5 x 4 x 3`` = 60 instructions by
default) with one-hot features, as ``benchmarks/make_pools.py`` writes them. Instruction ``i``
answers an example of group ``g`` right with probability ``sigmoid(b_g + f_i . w_g)``, ``w_g``
drawn per group, so some factor levels help on some groups and hurt on others: choosing by the
worst group differs from choosing by the mean. Scores are 0/1 draws, seeded.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

LEVELS = (5, 4, 3)
GROUPS = ("clean", "case", "format")


def synthetic_table(
    task: str = "synthetic",
    *,
    groups: tuple[str, ...] = GROUPS,
    levels: tuple[int, ...] = LEVELS,
    n_dev: int = 30,
    n_test: int = 50,
    seed: int = 0,
    features: bool = True,
) -> dict[str, Any]:
    """An answer table (a JSON-ready dict; see the module docstring).

    Args:
        task: Its task name. groups: Its groups (they share example ids, as shift groups do).
        levels: Levels of each factor (the pool is their full factorial).
        n_dev, n_test: Examples per group in the dev pool and the test set.
        seed: Seed of the abilities and the 0/1 draws (and the table's ``seed``).
        features: Whether the pool holds its one-hot features (else ``None``: a text pool).
    """
    rng = np.random.default_rng(seed)
    combos = list(itertools.product(*(range(n) for n in levels)))
    onehot = np.array(
        [
            np.concatenate([np.eye(n)[c] for n, c in zip(levels, combo, strict=True)])
            for combo in combos
        ]
    )
    weights = rng.normal(0.0, 1.2, size=(len(groups), onehot.shape[1]))
    bias = rng.normal(0.3, 0.3, size=len(groups))
    prob = 1.0 / (1.0 + np.exp(-(bias + onehot @ weights.T)))  # N x K
    texts = [f"Answer the question (phrasing {a}, format {b}, handling {c})." for a, b, c in combos]

    def split(name: str, n: int) -> dict[str, Any]:
        ids = [f"{name}-{k}" for k in range(n)]
        draws = rng.random((len(groups), len(texts), n)) < prob.T[:, :, None]
        scores = {g: draws[k].astype(int).tolist() for k, g in enumerate(groups)}
        return {"example_ids": {g: list(ids) for g in groups}, "scores": scores}

    return {
        "format": "droiz-answer-table",
        "version": 1,
        "droiz_version": "synthetic",
        "command": "droiz.testing.tables.synthetic_table (SIMULATED scores)",
        "task": task,
        "metric": "em",
        "seed": seed,
        "groups": list(groups),
        "answer_filter": None,
        "executor": {"spec": "synthetic", "model": "none"},
        "pool": {
            "file": f"{task}.jsonl",
            "n": len(texts),
            "instructions": texts,
            "features": onehot.tolist() if features else None,
        },
        "splits": {"dev": split("dev", n_dev), "test": split("test", n_test)},
        "headroom": None,
        "usage": {"requests": 0},
    }


def write_synthetic_table(path: str | os.PathLike[str], **options: Any) -> Path:
    """Write :func:`synthetic_table` as JSON to ``path``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(synthetic_table(**options), separators=(",", ":")) + "\n")
    return out
