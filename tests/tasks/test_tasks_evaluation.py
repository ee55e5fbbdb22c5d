"""The evaluation quantities: mixes, per-group means and the group report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from droiz.exceptions import ConfigError
from droiz.tasks.evaluation import (
    CLEAN,
    GroupReport,
    group_accuracy,
    mixture,
    summarize,
    train_mix,
)
from droiz.tasks.evaluation import test_mix as shifted_mix


def kl_worst_oracle(values: list[float], ref: list[float], radius: float) -> float:
    """min <w, u> over KL(w || ref) <= radius, by bisection on the tilt exp(-u / lam)."""
    u, p = np.asarray(values, float), np.asarray(ref, float)
    low = u.min()
    if radius >= -math.log(p[np.isclose(u, low)].sum()):
        return float(low)

    def tilt(lam: float) -> np.ndarray:
        w = p * np.exp(-(u - low) / lam)
        return w / w.sum()

    def kl(w: np.ndarray) -> float:
        keep = w > 0
        return float(np.sum(w[keep] * np.log(w[keep] / p[keep])))

    lo, hi = 1e-12, 1e12
    for _ in range(400):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if kl(tilt(mid)) > radius else (lo, mid)
    return float(tilt(hi) @ u)


def test_mixture_weights() -> None:
    groups = ["clean", "case", "typo", "format"]
    assert mixture(groups, 0.5) == pytest.approx(
        {"clean": 0.5, "case": 1 / 6, "typo": 1 / 6, "format": 1 / 6}
    )
    assert list(mixture(groups, 0.5)) == groups  # order kept
    assert train_mix(groups) == mixture(groups, 0.5)
    assert shifted_mix(groups) == pytest.approx(
        {"clean": 0.1, "case": 0.3, "typo": 0.3, "format": 0.3}
    )
    assert mixture(["a", "b"], 0.9) == {"a": 0.5, "b": 0.5}  # no clean group: uniform
    assert mixture(["clean"], 0.1) == {"clean": 1.0}
    assert mixture(["x", "base"], 0.25, clean="base") == {"x": 0.75, "base": 0.25}


@pytest.mark.parametrize(
    ("groups", "weight", "match"),
    [([], 0.5, "at least one"), (["a", "a"], 0.5, "distinct"), (["clean"], 1.5, r"\[0, 1\]")],
)
def test_mixture_rejects_bad_input(groups: list[str], weight: float, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        mixture(groups, weight)


def test_group_accuracy() -> None:
    scores = [1, 0, 1, 1, 0.5, 0]
    groups = ["clean", "case", "clean", "typo", "case", "typo"]
    assert group_accuracy(scores, groups) == {"clean": 1.0, "case": 0.25, "typo": 0.5}
    with pytest.raises(ConfigError, match="same length"):
        group_accuracy([1.0], ["a", "b"])
    with pytest.raises(ConfigError, match="finite"):
        group_accuracy([float("nan")], ["a"])


def test_summarize_hand_computed() -> None:
    acc = {"clean": 0.9, "case": 0.8, "typo": 0.5, "format": 0.7}
    report = summarize(acc)
    assert report.per_group == acc
    assert report.mean == pytest.approx(0.725)
    assert (report.worst_group, report.worst_group_name) == (0.5, "typo")
    assert report.shifted == pytest.approx(0.1 * 0.9 + 0.3 * (0.8 + 0.5 + 0.7))
    assert report.train_mix == pytest.approx(0.5 * 0.9 + (0.8 + 0.5 + 0.7) / 6)
    assert report.clean == 0.9
    ref = [0.5, 1 / 6, 1 / 6, 1 / 6]
    for radius, value in report.kl_worst.items():
        assert value == pytest.approx(kl_worst_oracle(list(acc.values()), ref, radius), abs=1e-7)
    values = [report.kl_worst[r] for r in (0.1, 0.5, 1.0)]
    assert report.train_mix > values[0] > values[1] > values[2] > report.worst_group


def test_summarize_without_clean_and_ties() -> None:
    report = summarize({"a": 0.4, "b": 0.4, "c": 1.0}, radii=(0.0, 50.0))
    assert report.worst_group_name == "a"  # first on ties
    assert report.shifted == pytest.approx(0.6) and report.train_mix == pytest.approx(0.6)
    assert report.kl_worst[0.0] == pytest.approx(0.6)
    assert report.kl_worst[50.0] == pytest.approx(0.4)
    assert report.clean is None
    with pytest.raises(ConfigError):
        summarize({})
    with pytest.raises(ConfigError, match="finite"):
        summarize({"clean": float("inf")})


def test_report_round_trips_through_json() -> None:
    report = summarize({CLEAN: 1.0, "typo": 0.25})
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data["kl_worst"]) == {"0.1", "0.5", "1.0"}
    assert GroupReport.from_dict(data) == report


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=6))
def test_report_orderings(values: list[float]) -> None:
    acc = {CLEAN: values[0], **{f"g{i}": v for i, v in enumerate(values[1:])}}
    report = summarize(acc, radii=(0.05, 0.3, 2.0))
    eps = 1e-9
    assert report.worst_group - eps <= report.kl_worst[2.0] <= report.kl_worst[0.3] + eps
    assert report.kl_worst[0.3] <= report.kl_worst[0.05] + eps <= report.train_mix + 2 * eps
    assert min(values) - eps <= report.shifted <= max(values) + eps
    ref = list(train_mix(list(acc)).values())
    assert report.kl_worst[0.3] == pytest.approx(kl_worst_oracle(values, ref, 0.3), abs=1e-6)
