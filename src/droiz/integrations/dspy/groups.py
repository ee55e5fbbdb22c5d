"""The groups of a valset: an example field, a function of the example, or ``clusters:K``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from droiz.exceptions import ConfigError
from droiz.integrations.clusters import cluster_groups, parse_clusters
from droiz.integrations.dspy.journal import ScoreJournal, digest

GroupBy = str | Callable[[Any], Any]


def check_group_by(group_by: object) -> GroupBy:
    """``group_by`` as given, once its form is valid (a ``clusters:K`` spec is parsed)."""
    if callable(group_by):
        return group_by
    if not isinstance(group_by, str) or not group_by.strip():
        raise TypeError(
            "group_by must be an example field name, a callable example -> label, or "
            f"'clusters:K'; got {type(group_by).__name__} {group_by!r}"
        )
    if group_by.startswith("clusters:"):
        parse_clusters(group_by)
    return group_by


def is_clusters(group_by: GroupBy) -> bool:
    return isinstance(group_by, str) and group_by.startswith("clusters:")


def input_text(example: Any) -> str:
    """The text of an example's inputs (what ``clusters:K`` embeds)."""
    return "\n".join(str(v) for v in example.inputs().values())


def labels_of(group_by: GroupBy, valset: Sequence[Any]) -> list[str] | None:
    """The group of each valset example by a field or a callable (``None`` for ``clusters:K``,
    which :func:`cluster_labels` computes later); refuses a missing field, a failing callable,
    and fewer than two groups."""
    if is_clusters(group_by):
        k = parse_clusters(str(group_by))
        if len(valset) < 3 * k:
            raise ConfigError(
                f"group_by={group_by!r} needs at least {3 * k} valset examples (3 a cluster), "
                f"got {len(valset)}; use a smaller K"
            )
        return None
    labels = []
    for i, ex in enumerate(valset):
        if callable(group_by):
            try:
                label = group_by(ex)
            except Exception as exc:
                raise ConfigError(
                    f"group_by raised {type(exc).__name__}: {exc} on valset example {i}; make "
                    "it return a group label for every example"
                ) from None
        elif group_by not in ex:
            fields = ", ".join(ex.keys())
            raise ConfigError(
                f"group_by={group_by!r}: valset example {i} has no field {group_by!r} (its "
                f"fields: {fields}); give every example that field, or pass a callable"
            )
        else:
            label = ex[group_by]
        if label is None:
            raise ConfigError(f"group_by gave no group (None) for valset example {i}")
        labels.append(str(label))
    check_groups(labels)
    return labels


def check_groups(labels: Sequence[str]) -> None:
    """At least two groups."""
    sizes = Counter(labels)
    if len(sizes) < 2:
        raise ConfigError(
            f"group_by gave one group ({next(iter(sizes))!r}) for all {len(labels)} valset "
            "examples; robust search needs at least 2 groups"
        )


def cluster_labels(
    group_by: str, valset: Sequence[Any], *, seed: int, journal: ScoreJournal | None
) -> list[str]:
    """The ``clusters:K`` groups of the valset, reused from the journal when it holds them."""
    k = parse_clusters(group_by)
    texts = [input_text(ex) for ex in valset]
    key = digest({"k": k, "seed": seed, "texts": texts})
    record = journal.get("clusters", key) if journal else None
    if record is not None:
        return [str(label) for label in record["labels"]]
    labels = cluster_groups(texts, k, seed=seed)
    if journal is not None:
        journal.append({"type": "clusters", "key": key, "k": k, "labels": labels})
    return labels
