"""Groups without labels for the DSPy optimizer: ``group_by="clusters:K"``.

The clustering is droiz's own (:func:`droiz.tasks.clusters.cluster_texts`: k-means on the
inputs' MiniLM embeddings, seeded, clusters ``c0`` … by decreasing size, each at least
:data:`~droiz.tasks.clusters.MIN_SIZE` examples); this module adapts it to a list of texts.
"""

from __future__ import annotations

from collections.abc import Sequence

from droiz.exceptions import ConfigError
from droiz.tasks.clusters import MIN_SIZE, cluster_count, cluster_texts

__all__ = ["MIN_SIZE", "cluster_groups", "parse_clusters"]


def parse_clusters(spec: str) -> int:
    """``K`` of a ``"clusters:K"`` spec (an integer >= 2)."""
    k = cluster_count(spec.strip())
    if k is None or k < 2:
        raise ConfigError(f"group_by={spec!r}: expected 'clusters:K' with an integer K >= 2")
    return k


def cluster_groups(texts: Sequence[str], k: int, *, seed: int = 0) -> list[str]:
    """The cluster of each text (ties in size: the cluster holding the earliest text first).

    Raises:
        ConfigError: There are too few texts for ``k`` clusters, or ``k`` leaves a cluster with
            fewer than :data:`MIN_SIZE` texts (the message gives the sizes).
    """
    if len(texts) < MIN_SIZE * k:
        raise ConfigError(
            f"clusters:{k} needs at least {MIN_SIZE * k} examples ({MIN_SIZE} a cluster), "
            f"got {len(texts)}; use a smaller K"
        )
    ids = [f"{i:012d}" for i in range(len(texts))]  # as strings, in the texts' order
    members = cluster_texts(texts, ids, k, seed=seed, what="group_by")
    label = {id_: name for name, group in members.items() for id_ in group}
    return [label[id_] for id_ in ids]
