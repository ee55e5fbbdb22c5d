"""``droiz bench sim`` (SIMULATED): the designs, the AUC, the JSON schema, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from droiz.axes import AXES, DEFAULT_GROUP_RULE
from droiz.bench.sim import (
    ROWS,
    ablation_design,
    evaluations_to_target,
    median_evaluations,
    one_axis_pairs,
    worst_group_auc,
)
from droiz.cli import main
from droiz.sim.demo import RunResult, searches_axes

METRICS = ["mean_acc", "worst_group_acc", "shifted_acc", "evaluations", "worst_group_auc"]
COMPARISON = ["axis", "a", "b", "metric", "diff", "ci", "n", "mdd", "ci90", "verdict", "wins",
              "ties", "losses"]  # fmt: skip


def test_the_worst_group_auc_is_the_trapezoid_from_the_end_of_the_design_by_hand() -> None:
    curve = [(25, 0.5), (50, 0.6), (75, 0.6), (100, 0.9)]
    # (0.55 + 0.6 + 0.75) * 25 / 75
    assert worst_group_auc(curve, start=25) == pytest.approx((0.55 + 0.6 + 0.75) / 3)
    assert worst_group_auc([(10, 0.1), *curve], start=25) == worst_group_auc(curve, start=25)
    assert worst_group_auc([(25, 0.4), (30, 0.8)], start=25) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="at 25 evaluations"):
        worst_group_auc([(50, 0.6), (75, 0.6)], start=25)


def _run(name: str, seed: int, wg: float, checkpoints: list[tuple[int, float]]) -> RunResult:
    return RunResult(name, seed, 0.8, wg, 0.8, 150, checkpoints=checkpoints)


def test_seeds_that_never_reach_the_target_count_as_beyond_the_budget() -> None:
    rows = {
        "ei": [_run("ei", 0, 0.6, [(25, 0.5), (50, 0.6)]), _run("ei", 1, 0.7, [(25, 0.7)])],
        "dro": [
            _run("dro", 0, 0.65, [(25, 0.4), (50, 0.61), (75, 0.65)]),
            _run("dro", 1, 0.5, [(25, 0.69), (50, 0.5)]),
        ],
    }
    reach = evaluations_to_target(rows, "ei")
    assert reach == {"ei": [50, 25], "dro": [50, None]}
    assert median_evaluations(reach["ei"], 150) == "37.5"
    assert median_evaluations(reach["dro"], 150) == ">150"  # not the median of the reached (50)
    assert median_evaluations([25, None, None], 150) == ">150"
    assert median_evaluations([25, 50, None], 150) == "50"


def test_the_ablation_has_12_cells_and_24_one_axis_pairs() -> None:
    searches = ablation_design()
    axes = searches_axes(searches)
    assert len(axes) == 12 and len({tuple(a.values()) for a in axes.values()}) == 12
    assert {a["final_pick"] for a in axes.values()} == {"robust"}
    pairs = one_axis_pairs(axes)
    assert len(pairs) == 24  # 3 acquisition pairs x 4 + 6 rule pairs + 6 update pairs
    for axis, a, b in pairs:
        differ = [k for k in AXES if axes[a][k] != axes[b][k]]
        assert differ == [axis]
    by_axis = {axis: [(a, b) for x, a, b in pairs if x == axis] for axis, _, _ in pairs}
    assert all(axes[a]["group_rule"] == "adversarial" for a, _ in by_axis["group_rule"])
    assert all(axes[a]["reference_update"] == "ema" for a, _ in by_axis["reference_update"])
    assert ("robust-ucb/reference/fixed", "ucb/reference/fixed") in by_axis["acquisition"]


def _check_comparisons(data: dict, n: int) -> None:
    for c in data["comparisons"]:
        assert list(c) == COMPARISON and c["n"] == n
        assert c["ci"][0] <= c["diff"] <= c["ci"][1]
        a = data["methods"][c["a"]][c["metric"]]
        b = data["methods"][c["b"]][c["metric"]]
        assert c["diff"] == pytest.approx(100 * sum(x - y for x, y in zip(a, b, strict=True)) / n)


def test_cli_writes_the_methods_schema_with_one_rule_for_every_model_based_method(
    tmp_path: Path, capsys
) -> None:
    out_json, out_dir = tmp_path / "s.json", tmp_path / "out"
    argv = ["bench", "sim", "--seeds", "2", "--budget", "30", "--workers", "1"]
    assert main([*argv, "--json", str(out_json), "--out", str(out_dir)]) == 0
    data = json.loads(out_json.read_text())
    assert list(data) == ["budget", "seeds", "methods", "comparisons", "efficiency"]
    assert data["budget"] == 30 and data["seeds"] == [0, 1]
    assert list(data["methods"]) == list(ROWS)
    for name, row in data["methods"].items():
        assert list(row) == METRICS + list(AXES) and row["evaluations"] == [30, 30]
        free = name in ("random", "dro-nobo")
        assert row["group_rule"] == ("reference" if free else DEFAULT_GROUP_RULE)
    assert data["methods"]["ucb-sum"]["acquisition"] == "ucb-sum"
    assert data["methods"]["ei-robust-select"]["final_pick"] == "robust"
    assert {(c["a"], c["b"]) for c in data["comparisons"]} == {("dro", r) for r in ROWS[1:]}
    _check_comparisons(data, 2)
    eff = data["efficiency"]
    assert eff["start"] == 25 and eff["target"] == "ei"
    assert list(eff["evaluations_to_target"]) == list(ROWS)
    reach = eff["evaluations_to_target"]
    assert all(v is None or v in (25, 30) for vs in reach.values() for v in vs)
    assert all(v is not None for v in eff["evaluations_to_target"]["ei"])
    full = json.loads((out_dir / "results.json").read_text())
    assert full["label"] == "SIMULATED" and full["group_rule"] == DEFAULT_GROUP_RULE
    assert (out_dir / "best_so_far.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert f"group rule {DEFAULT_GROUP_RULE!r} for every model-based method" in printed
    assert "UCB, summed per-group bonus" in printed and "worst-group AUC" in printed
    assert "robust-ucb / reference / ema / robust" in printed


@pytest.mark.slow
def test_cli_ablation_runs_12_cells_and_compares_every_one_axis_pair(tmp_path: Path) -> None:
    out_json = tmp_path / "a.json"
    argv = ["bench", "sim", "--ablation", "--seeds", "2", "--budget", "30", "--workers", "1"]
    assert main([*argv, "--json", str(out_json)]) == 0
    data = json.loads(out_json.read_text())
    assert len(data["methods"]) == 12
    assert len(data["comparisons"]) == 24 * 3  # every pair on 3 metrics
    _check_comparisons(data, 2)
    assert data["efficiency"]["target"] == "ucb/reference/fixed"
    effects = data["main_effects"]
    assert len(effects) == (3 + 4 + 4) * 3  # level pairs x (overall + per acquisition) x metrics
    rule = [e for e in effects if e["axis"] == "group_rule" and e["metric"] == "worst_group_acc"]
    assert [e["within"] for e in rule] == ["all", "ucb", "ucb-sum", "robust-ucb"]
    pairs = [c for c in data["comparisons"] if c["axis"] == "group_rule"]
    pairs = [c for c in pairs if c["metric"] == "worst_group_acc"]
    assert rule[0]["diff"] == pytest.approx(sum(c["diff"] for c in pairs) / len(pairs))
    rules = {m["group_rule"] for m in data["methods"].values()}
    assert rules == {"reference", "adversarial"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group-rule", "auto"], "argument --group-rule: invalid choice: 'auto'"),
        (["--group-rule", "lcb"], "argument --group-rule: invalid choice: 'lcb'"),
        (["--ablation", "--group-rule", "reference"], "--ablation runs both group rules"),
        (["--scenario", "easy"], "argument --scenario: invalid choice: 'easy'"),
        (["--json", ""], "argument --json: an empty path is not allowed"),
        (["--out", ""], "argument --out: an empty path is not allowed"),
        (["--budget", "10"], "argument --budget: must be an integer in [30, 100,000]"),
        (["--budget", "1000000000"], "argument --budget: must be an integer in [30, 100,000]"),
        (["--seeds", "0"], "argument --seeds: must be an integer in [1, 10,000]"),
        (["--seeds", "1000000000"], "argument --seeds: must be an integer in [1, 10,000]"),
        (["--workers", "0"], "argument --workers: must be an integer in [1, 64]"),
        (["--workers", "100000"], "argument --workers: must be an integer in [1, 64]"),
        (["--ambiguity", "kll:1"], "did you mean"),
    ],
)
def test_cli_rejects_bad_input_in_one_line(args: list[str], message: str, capsys) -> None:
    assert main(["bench", "sim", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
