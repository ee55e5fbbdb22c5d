"""Groups without labels: k-means clusters of the inputs' sentence embeddings (``clusters:K``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from droiz._imports import require
from droiz.exceptions import ConfigError

MIN_CLUSTER = 3
"""The fewest examples a cluster may hold."""


def parse_clusters(spec: str) -> int:
    """``K`` of a ``"clusters:K"`` spec (an integer >= 2)."""
    _, _, value = spec.partition(":")
    try:
        k = int(value.strip())
    except ValueError:
        k = 0
    if k < 2:
        raise ConfigError(f"group_by={spec!r}: expected 'clusters:K' with an integer K >= 2")
    return k


def cluster_groups(texts: Sequence[str], k: int, *, seed: int = 0) -> list[str]:
    """The cluster of each text: k-means (scikit-learn, seeded) on its MiniLM embedding.

    Clusters are named ``c0`` ... ``c{K-1}`` by decreasing size (ties: the one holding the
    earliest text first).

    Raises:
        ConfigError: ``k`` leaves a cluster with fewer than :data:`MIN_CLUSTER` texts (the
            message gives the sizes), or there are too few texts for ``k`` clusters.
    """
    if len(texts) < MIN_CLUSTER * k:
        raise ConfigError(
            f"clusters:{k} needs at least {MIN_CLUSTER * k} examples ({MIN_CLUSTER} a cluster), "
            f"got {len(texts)}; use a smaller K"
        )
    require("sentence_transformers", "semantic")
    kmeans = require("sklearn.cluster", "semantic").KMeans
    from droiz.llm.embed import SentenceEmbedder

    x = SentenceEmbedder().embed(list(texts)).numpy()
    labels = kmeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(x).tolist()
    sizes = Counter(labels)
    order = sorted(sizes, key=lambda c: (-sizes[c], labels.index(c)))
    if sizes[order[-1]] < MIN_CLUSTER:
        shown = ", ".join(str(sizes[c]) for c in order)
        raise ConfigError(
            f"clusters:{k} leaves a cluster with fewer than {MIN_CLUSTER} examples (sizes "
            f"{shown}); use a smaller K"
        )
    name = {c: f"c{i}" for i, c in enumerate(order)}
    return [name[c] for c in labels]
