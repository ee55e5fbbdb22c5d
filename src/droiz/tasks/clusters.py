"""Groups without labels: k-means clusters of a task's inputs (``--groups clusters:K``).

Most data carry no group labels, and the shifts users fear (a new topic, a new customer segment,
longer inputs) are not the synthetic ones. :func:`cluster_task` finds ``K`` subpopulations in a
task's inputs: the sentence embeddings of every input (droiz's MiniLM embedder,
:class:`~droiz.llm.embed.SentenceEmbedder`), clustered with scikit-learn's ``KMeans`` seeded by
the run seed. The clusters are computed once over all examples (induce, dev and test), so the dev
subset, the demos and the test split share them.

The clusters are named ``c0`` … ``c{K-1}`` by decreasing size (ties: the cluster holding the
smallest example id, compared as strings, first). A ``K`` that leaves a cluster with fewer than
:data:`MIN_SIZE` examples is refused with the sizes. :func:`clustered` makes the clusters the
task's groups, in the way a task file's ``group`` column is (natural groups, on the clean
inputs), so everything downstream (a GP per group, the ambiguity set, the reports) sees them.

:func:`distinctive_words` names each cluster by its most distinctive words (TF-IDF of the
cluster's inputs taken as one document, scikit-learn's ``TfidfVectorizer``).

Example:
    >>> task = load_task("my.jsonl")
    >>> clusters = cluster_task(task, 3, seed=0)          # loads the embedder
    >>> clusters.sizes                                    # {"c0": 41, "c1": 35, "c2": 24}
    >>> clustered(task, clusters).groups                  # ("c0", "c1", "c2")
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from droiz._imports import require
from droiz.exceptions import ConfigError, DataError
from droiz.tasks.base import Example
from droiz.tasks.task import Task

if TYPE_CHECKING:
    import numpy as np
    import torch

CLUSTERS_SPEC = re.compile(r"clusters:([1-9][0-9]*)")
"""The ``--groups`` value of ``K`` clusters."""
MIN_SIZE = 3
"""The fewest examples a cluster may hold."""
CLUSTERS_FORMAT = 1
"""The format of a saved assignment (:meth:`Clusters.to_dict`)."""
N_INIT = 10
"""k-means restarts (explicit, so that the result does not follow scikit-learn's default)."""

__all__ = [
    "CLUSTERS_SPEC",
    "MIN_SIZE",
    "Clusters",
    "check_cluster_count",
    "cluster_count",
    "cluster_task",
    "cluster_texts",
    "clustered",
    "distinctive_words",
]


def cluster_count(groups: str | None) -> int | None:
    """``K`` of a ``--groups clusters:K`` value, else ``None``."""
    match = CLUSTERS_SPEC.fullmatch(groups or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Clusters:
    """A cluster assignment of a task's examples.

    Attributes:
        k: The number of clusters.
        seed: The k-means seed.
        embedder: The fingerprint of the sentence embedder that embedded the inputs.
        members: The example ids of each cluster, by name (``c0`` first), in the task's order.
    """

    k: int
    seed: int
    embedder: str
    members: dict[str, tuple[str, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.members)

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.members.items()}

    def label_of(self) -> dict[str, str]:
        """The cluster of every example id."""
        return {i: name for name, ids in self.members.items() for i in ids}

    def to_dict(self) -> dict[str, Any]:
        """The JSON object saved in a run directory (``clusters.json``)."""
        return {
            "format": CLUSTERS_FORMAT,
            "k": self.k,
            "seed": self.seed,
            "embedder": self.embedder,
            "members": {name: list(ids) for name, ids in self.members.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Clusters:
        """Read :meth:`to_dict`'s object.

        Raises:
            DataError: Not a saved assignment, or in a newer format.
        """
        version = data.get("format") if isinstance(data, Mapping) else None
        if not isinstance(version, int) or version < 1:
            raise DataError("not a saved cluster assignment (no format)")
        if version > CLUSTERS_FORMAT:
            raise DataError(
                f"the cluster assignment is in format {version}; this droiz reads format "
                f"{CLUSTERS_FORMAT} at most: use a newer droiz"
            )
        try:
            members = {str(n): tuple(str(i) for i in ids) for n, ids in data["members"].items()}
            return cls(int(data["k"]), int(data["seed"]), str(data["embedder"]), members)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"the cluster assignment is malformed ({exc!r})") from None


def all_examples(task: Task) -> tuple[Example, ...]:
    """Every example of the task, split after split (induce, dev, test)."""
    return (*task.induce, *task.dev, *task.test)


def check_cluster_count(task: Task, k: int) -> None:
    """Refuse, before anything is embedded, a ``K`` that cannot leave every cluster
    :data:`MIN_SIZE` examples."""
    n = len(all_examples(task))
    if k * MIN_SIZE > n:
        raise ConfigError(
            f"--groups clusters:{k} needs at least {k * MIN_SIZE} examples ({MIN_SIZE} per "
            f"cluster), but task {task.name!r} has {n}; choose K <= {n // MIN_SIZE}"
        )


def cluster_task(
    task: Task, k: int, *, seed: int = 0, embedder: str | TextEmbedder | None = None
) -> Clusters:
    """``K`` k-means clusters of the sentence embeddings of every input of ``task``.

    Args:
        task: The task (all its splits are clustered together).
        k: The number of clusters.
        seed: The k-means seed (``random_state``).
        embedder: A sentence-transformers model name or path, or an embedder (a
            :class:`~droiz.llm.embed.SentenceEmbedder`); ``None``: droiz's default
            (all-MiniLM-L6-v2).

    Raises:
        ConfigError: ``K`` leaves a cluster with fewer than :data:`MIN_SIZE` examples.
        MissingDependencyError: scikit-learn or sentence-transformers is not installed.
    """
    check_cluster_count(task, k)
    examples = all_examples(task)
    model = _embedder(embedder)
    members = cluster_texts(
        [e.input for e in examples], [e.id for e in examples], k, seed=seed, embedder=model
    )
    return Clusters(k, seed, model.fingerprint, members)


def cluster_texts(
    texts: Sequence[str],
    ids: Sequence[str],
    k: int,
    *,
    seed: int = 0,
    embedder: str | TextEmbedder | None = None,
    what: str = "--groups",
) -> dict[str, tuple[str, ...]]:
    """The ids of each of ``K`` k-means clusters of the texts' sentence embeddings, named
    ``c0`` … by decreasing size (ties: the cluster holding the smallest id, as a string, first).

    Raises:
        ConfigError: A cluster holds fewer than :data:`MIN_SIZE` texts (the message gives the
            sizes and begins with ``what``, the option that asked for the clusters).
    """
    cluster = require("sklearn.cluster", "clusters")
    vectors = embed_inputs(_embedder(embedder), texts)
    labels = cluster.KMeans(n_clusters=k, random_state=seed, n_init=N_INIT).fit_predict(vectors)
    found: dict[int, list[str]] = {}
    for id_, label in zip(ids, labels.tolist(), strict=True):
        found.setdefault(int(label), []).append(id_)
    order = sorted(found.values(), key=lambda members: (-len(members), min(members)))
    sizes = [len(members) for members in order] + [0] * (k - len(order))
    if min(sizes) < MIN_SIZE:
        raise ConfigError(
            f"{what} clusters:{k} leaves a cluster with fewer than {MIN_SIZE} examples "
            f"(cluster sizes {', '.join(map(str, sizes))}); choose a smaller K"
        )
    return {f"c{j}": tuple(members) for j, members in enumerate(order)}


class TextEmbedder(Protocol):
    """What clustering needs of an embedder (:class:`~droiz.llm.embed.SentenceEmbedder`)."""

    @property
    def fingerprint(self) -> str: ...

    def embed_batched(self, texts: Sequence[str]) -> torch.Tensor: ...


def _embedder(embedder: str | TextEmbedder | None) -> TextEmbedder:
    if embedder is not None and not isinstance(embedder, str):
        return embedder
    require("sentence_transformers", "semantic")
    from droiz.llm.embed import SentenceEmbedder

    return SentenceEmbedder(embedder)


def embed_inputs(embedder: TextEmbedder, texts: Sequence[str]) -> np.ndarray:
    """The unit-norm sentence embeddings of ``texts`` (``n x D`` float64), in batches."""
    return embedder.embed_batched(texts).numpy()


def clustered(task: Task, clusters: Clusters) -> Task:
    """``task`` with the clusters as its groups (natural groups on the clean inputs, like a task
    file's ``group`` column, which they replace).

    Raises:
        DataError: The assignment does not label every example of the task (it was computed for
            other data).
    """
    label = clusters.label_of()
    examples = all_examples(task)
    missing = [e.id for e in examples if e.id not in label]
    if missing or len(label) != len(examples):
        shown = ", ".join(missing[:3]) or "none"
        raise DataError(
            f"the cluster assignment does not match task {task.name!r} ({len(label)} labelled "
            f"ids for {len(examples)} examples; unlabelled: {shown}); it was computed for other "
            "data"
        )

    def relabel(split: tuple[Example, ...]) -> tuple[Example, ...]:
        return tuple(dataclasses.replace(e, group=label[e.id]) for e in split)

    return dataclasses.replace(
        task,
        induce=relabel(task.induce),
        dev=relabel(task.dev),
        test=relabel(task.test),
        groups=clusters.names,
        natural_groups=clusters.names,
    )


def distinctive_words(task: Task, clusters: Clusters, n: int = 5) -> dict[str, list[str]]:
    """The ``n`` most distinctive words of each cluster: the highest TF-IDF weights when each
    cluster's inputs are one document, without English stop words and words every cluster has;
    ties in word order."""
    text = require("sklearn.feature_extraction.text", "clusters")
    inputs = {e.id: e.input for e in all_examples(task)}
    documents = [" ".join(inputs[i] for i in ids) for ids in clusters.members.values()]
    max_df = len(documents) - 1 if len(documents) > 1 else 1.0  # a word of every cluster is not
    vectorizer = text.TfidfVectorizer(stop_words="english", max_df=max_df)
    try:
        weights = vectorizer.fit_transform(documents).toarray()
    except ValueError:  # no word left (one-digit numbers, symbols, words every cluster has)
        return {name: [] for name in clusters.names}
    vocabulary = vectorizer.get_feature_names_out().tolist()
    out: dict[str, list[str]] = {}
    for name, row in zip(clusters.names, weights.tolist(), strict=True):
        scored = [(w, word) for word, w in zip(vocabulary, row, strict=True) if w > 0]
        out[name] = [word for _, word in sorted(scored, key=lambda t: (-t[0], t[1]))[:n]]
    return out
