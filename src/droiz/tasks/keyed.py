"""Keyed randomness: reproducible random draws that depend only on a key, never on call order.

Every random choice in :mod:`droiz.tasks` (held-out splits, dev subsets, perturbations) draws
from ``keyed_rng(...)`` with a key that names what is being drawn, e.g.
``("shift", task, example_id, group, seed)``. The key is hashed with SHA-256, so the result does
not depend on Python's salted ``hash``, on the evaluation order or on other draws.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")

__all__ = ["key_digest", "keyed_rng", "keyed_sample", "keyed_unit"]


def key_digest(*parts: Hashable) -> bytes:
    """SHA-256 digest of the parts, joined with ``"|"`` after ``str()``."""
    text = "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).digest()


def keyed_rng(*parts: Hashable) -> random.Random:
    """A ``random.Random`` seeded from the SHA-256 of the key parts."""
    return random.Random(int.from_bytes(key_digest(*parts)[:8], "big"))


def keyed_unit(*parts: Hashable) -> float:
    """A uniform number in ``[0, 1)`` determined by the key parts."""
    return int.from_bytes(key_digest(*parts)[:7], "big") / float(1 << 56)


def keyed_sample(
    items: Sequence[T], k: int, key_of: Callable[[T], Hashable], *parts: Hashable
) -> list[T]:
    """``k`` distinct items chosen by key, returned in the order of ``items``.

    Each item is ranked by ``keyed_unit(*parts, key_of(item))`` and the ``k`` lowest ranks are
    kept, so the choice does not depend on the order of ``items`` and a larger ``k`` contains the
    choice of a smaller one.
    """
    ranks = {i: keyed_unit(*parts, key_of(item)) for i, item in enumerate(items)}
    keep = sorted(sorted(ranks, key=ranks.__getitem__)[: max(0, k)])
    return [items[i] for i in keep]
