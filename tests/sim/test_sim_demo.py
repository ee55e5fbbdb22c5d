"""``droiz demo``: output schema, files, determinism, errors. (How DRO compares with EI and UCB
is a measurement, not a test: ``benchmarks/bench_demo.py``, see ``docs/results.md``.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from droiz.axes import AXES, DEFAULT_GROUP_RULE
from droiz.cli import main
from droiz.sim.demo import ROWS

METRICS = ["mean_acc", "worst_group_acc", "shifted_acc", "evaluations"]
MODEL_FREE = ("random", "dro-nobo")


def test_demo_writes_exactly_the_json_schema_and_the_plot(tmp_path: Path, capsys) -> None:
    out_json, out_dir = tmp_path / "r.json", tmp_path / "out"
    code = main(
        [
            "demo",
            "--seeds",
            "2",
            "--budget",
            "40",
            "--workers",
            "1",
            "--json",
            str(out_json),
            "--out",
            str(out_dir),
        ]
    )
    assert code == 0
    data = json.loads(out_json.read_text())
    assert set(data) == {"budget", "seeds", "methods"}
    assert data["budget"] == 40 and data["seeds"] == [0, 1]
    assert list(data["methods"]) == list(ROWS)
    for name, row in data["methods"].items():
        assert list(row) == METRICS + list(AXES)
        assert all(len(row[k]) == 2 for k in METRICS)
        assert row["evaluations"] == [40, 40]
        assert all(0.0 <= a <= 1.0 for k in METRICS[:3] for a in row[k])
        assert all(lo <= m for lo, m in zip(row["worst_group_acc"], row["mean_acc"], strict=True))
        assert row["group_rule"] == ("reference" if name in MODEL_FREE else DEFAULT_GROUP_RULE)
    axes = {name: [row[k] for k in AXES] for name, row in data["methods"].items()}
    assert axes["dro"] == ["robust-ucb", DEFAULT_GROUP_RULE, "ema", "robust"]
    assert axes["ei"] == ["ei", DEFAULT_GROUP_RULE, "fixed", "nominal"]
    assert axes["ei-robust-select"] == ["ei", DEFAULT_GROUP_RULE, "fixed", "robust"]
    assert axes["ucb"] == ["ucb", DEFAULT_GROUP_RULE, "fixed", "nominal"]
    assert axes["random"] == ["none", "reference", "fixed", "observed-nominal"]
    full = json.loads((out_dir / "results.json").read_text())
    assert full["label"] == "SIMULATED" and full["methods"] == data["methods"]
    assert len(full["curves"]["dro"][0]) == 40
    png = (out_dir / "best_so_far.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    printed = capsys.readouterr().out
    assert "[SIMULATED]" in printed and "EI + robust final selection" in printed
    assert f"group rule {DEFAULT_GROUP_RULE!r} for every model-based method" in printed
    paired = [line.split() for line in printed.splitlines() if line.split()[:2] == ["dro", "ei"]]
    assert len(paired) == 2  # worst group and mean, each with its interval, n, MDD, verdict
    assert all(p[3].startswith("[") and p[5] == "2" and p[-3:] == ["too", "few", "pairs"]
               for p in paired)  # fmt: skip


def test_the_group_rule_applies_to_every_model_based_method(tmp_path: Path) -> None:
    path = tmp_path / "adv.json"
    argv = ["demo", "--seeds", "1", "--budget", "30", "--workers", "1"]
    assert main([*argv, "--group-rule", "adversarial", "--json", str(path)]) == 0
    methods = json.loads(path.read_text())["methods"]
    rules = {name: row["group_rule"] for name, row in methods.items()}
    assert rules == {name: "reference" if name in MODEL_FREE else "adversarial" for name in ROWS}


def test_a_seeded_demo_gives_the_same_results_serially_and_on_two_workers(tmp_path: Path) -> None:
    runs = []
    for workers in ("1", "2"):
        path = tmp_path / f"w{workers}.json"
        argv = ["demo", "--seeds", "1", "--budget", "30", "--workers", workers, "--json", str(path)]
        assert main(argv) == 0
        runs.append(json.loads(path.read_text()))
    assert runs[0] == runs[1] and list(runs[0]["methods"]) == list(ROWS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "0"], "argument --seeds: must be an integer in [1, 10,000]"),
        (["--seeds", "10001"], "argument --seeds: must be an integer in [1, 10,000]"),
        (["--budget", "10"], "argument --budget: must be an integer in [30, 100,000]"),
        (["--workers", "100000"], "argument --workers: must be an integer in [1, 64]"),
        (["--workers", "0"], "argument --workers: must be an integer in [1, 64]"),
        (["--ambiguity", "kl:-1"], "kl"),
        (["--ambiguity", "kll:0.1"], "did you mean"),
        (["--scenario", "easy"], "argument --scenario: invalid choice: 'easy'"),
        (["--json", ""], "argument --json: an empty path is not allowed"),
        (["--group-rule", "auto"], "argument --group-rule: invalid choice: 'auto'"),
    ],
)
def test_demo_rejects_bad_input_in_one_line(args: list[str], message: str, capsys) -> None:
    assert main(["demo", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_no_more_processes_than_runs_and_at_most_64(monkeypatch) -> None:
    import droiz.sim.demo as demo
    from droiz.exceptions import ConfigError

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool for a single run")

    monkeypatch.setattr(demo, "map_workers", no_pool)
    searches = demo.method_searches(("random",))
    rows = demo.run_searches(searches, [0], "tradeoff", 30, "kl:1.0", workers=64)
    assert [r.seed for r in rows["random"]] == [0]
    with pytest.raises(ConfigError, match=r"workers must be an integer in \[1, 64\]"):
        demo.run_searches(searches, [0], "tradeoff", 30, "kl:1.0", workers=100_000)
