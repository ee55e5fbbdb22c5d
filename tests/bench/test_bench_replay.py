"""``droiz bench table replay`` on small synthetic answer tables: no request, deterministic, the
joint bootstrap's arithmetic, the JSON schema, and bad inputs refused in one line first."""

from __future__ import annotations

import json
import math
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from droiz.bench.paired import summarise
from droiz.bench.replay import ReplaySettings, dev_means, read_table, run_replay
from droiz.bench.replay_stats import JointBootstrap, TaskTest
from droiz.cli import main
from droiz.testing.tables import synthetic_table, write_synthetic_table

KEYS = {"a", "b", "metric", "diff", "ci", "n", "mdd"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("tables")
    small = {"levels": (3, 2, 2), "n_dev": 12, "n_test": 20}
    return [
        write_synthetic_table(root / f"t{k}.json", task=f"t{k}", seed=k, **small) for k in (1, 2)
    ]


def _replay(tables: list[Path], out: Path, *extra: str) -> int:
    args = ["bench", "table", "replay", *map(str, tables), "--seeds", "3", "--budget", "14"]
    return main([*args, "--n-dev", "8", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def replayed(tables: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replay")
    real = socket.socket.connect

    def no_network(self: socket.socket, address: object) -> None:  # no server at all
        raise AssertionError(f"the replay opened a connection to {address}")

    socket.socket.connect = no_network  # type: ignore[method-assign]
    try:
        assert (
            _replay(tables, out / "a", "--methods", "dro,ucb,random", "--json", str(out / "j.json"))
            == 0
        )
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]
    return out


def test_a_replay_sends_nothing_and_writes_its_outputs(replayed: Path) -> None:
    payload = json.loads((replayed / "a" / "replay.json").read_text())
    assert payload["requests"] == 0 and payload["label"].startswith("REPLAY")
    assert json.loads((replayed / "j.json").read_text()) == payload
    runs = payload["runs"]
    assert len(runs) == 2 * 3 * 3  # tasks x rows x seeds
    assert all(r["evaluations"] == 14 for r in runs)
    assert set(payload["methods"]) == {"dro", "ucb", "random"}
    assert payload["methods"]["ucb"]["group_rule"] == "reference"
    report = (replayed / "a" / "report.md").read_text()
    assert "group rule `reference` for every model-based method" in report
    assert (replayed / "a" / "runs.csv").read_text().count("\n") == 1 + len(runs)


def test_the_comparisons_have_the_contract_keys_in_points(replayed: Path) -> None:
    comparisons = json.loads((replayed / "a" / "replay.json").read_text())["comparisons"]
    pairs = {(c["a"], c["b"], c["metric"]) for c in comparisons}
    assert pairs == {
        (a, b, m)
        for a, b in (("dro", "random"), ("ucb", "random"), ("dro", "ucb"))
        for m in ("test_mean", "worst_group")
    }
    for c in comparisons:
        assert set(c) >= KEYS and c["n"] == 6  # 2 tasks x 3 seeds
        lo, hi = c["ci"]
        assert -100 <= lo <= c["diff"] + 1e-9 and c["diff"] - 1e-9 <= hi <= 100
        assert c["mdd"] == pytest.approx(2.80 * c["se"])
        assert c["verdict"] == "too few pairs"


def test_a_replay_is_deterministic(tables: list[Path], replayed: Path, tmp_path: Path) -> None:
    assert _replay(tables, tmp_path / "b", "--methods", "dro,ucb,random") == 0
    again = json.loads((tmp_path / "b" / "replay.json").read_text())
    first = json.loads((replayed / "a" / "replay.json").read_text())
    assert again["runs"] == first["runs"] and again["comparisons"] == first["comparisons"]


def test_workers_give_the_same_replay(tables: list[Path]) -> None:
    settings = ReplaySettings(methods=("dro", "random"), seeds=2, budget=12, n_dev=6)
    read = [read_table(p) for p in tables[:1]]
    one, two = run_replay(read, settings), run_replay(read, settings, workers=2)
    assert one.picks == two.picks and one.comparisons == two.comparisons


def test_the_ablation_runs_the_factorial_cells(tables: list[Path], tmp_path: Path) -> None:
    assert _replay(tables[:1], tmp_path / "c", "--ablation", "--seeds", "1") == 0
    payload = json.loads((tmp_path / "c" / "replay.json").read_text())
    assert len(payload["methods"]) == 12 and payload["settings"]["group_rule"] is None
    assert {m["final_pick"] for m in payload["methods"].values()} == {"robust"}
    axes = {c["axis"] for c in payload["comparisons"]}
    assert axes == {"acquisition", "group_rule", "reference_update"}
    effects = [c for c in payload["comparisons"] if c.get("within")]
    assert {c["within"] for c in effects} == {"all", "ucb", "ucb-sum", "robust-ucb"}


def test_seeds_draw_their_own_dev_examples_and_share_them_across_groups(tables: list[Path]) -> None:
    table = read_table(tables[0])
    a, b = dev_means(table, 5, seed=0), dev_means(table, 5, seed=1)
    assert a.shape == (len(table.instructions), 3) and not np.array_equal(a, b)
    assert np.array_equal(a, dev_means(table, 5, seed=0))
    full = dev_means(table, 12, seed=3)  # every example: the dev pool's own means
    np.testing.assert_allclose(full, np.stack([d.mean(-1) for d in table.dev], -1))


def test_a_table_without_features_is_searched_on_embeddings(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    path.write_text(
        json.dumps(synthetic_table("plain", levels=(2, 2, 2), n_dev=6, n_test=6, features=False))
    )
    settings = ReplaySettings(methods=("dro",), seeds=1, budget=12, n_dev=4, pool_dim=3)
    replay = run_replay([read_table(path)], settings)
    assert len(replay.picks) == 1 and 0 <= replay.picks[0].pick < 8


# ------------------------------------------------------------------ the arithmetic
def _one_task(scores: list[list[float]], n_seeds: int, paired: bool = True) -> JointBootstrap:
    test = TaskTest((np.asarray(scores, dtype=np.float64),), paired)
    return JointBootstrap([test], [n_seeds], n_boot=4000)


def test_a_constant_difference_has_a_point_interval_and_no_mdd() -> None:
    # instruction 0 is right on every example, instruction 1 on none: always +100 points
    boot = _one_task([[1.0] * 8, [0.0] * 8], 12)
    c = boot.compare("x", "y", "test_mean", [np.zeros((12, 1), int)], [np.ones((12, 1), int)])
    assert c["diff"] == 100 and c["ci"] == [100, 100] and c["mdd"] == 0 and c["n"] == 12
    assert c["verdict"] == "win"


def test_the_test_examples_alone_give_the_paired_standard_error() -> None:
    """Every seed picks the same two instructions: the spread is the test set's alone, the
    standard error of a paired mean over its examples, sd(d) / sqrt(m)."""
    rng = np.random.default_rng(5)
    m = 400
    s0, s1 = (rng.random(m) < 0.7).astype(float), (rng.random(m) < 0.6).astype(float)
    boot = _one_task([s0.tolist(), s1.tolist()], 10)
    c = boot.compare("x", "y", "test_mean", [np.zeros((10, 1), int)], [np.ones((10, 1), int)])
    d = s0 - s1
    assert c["diff"] == pytest.approx(100 * d.mean())
    assert c["se"] == pytest.approx(100 * d.std() / math.sqrt(m), rel=0.05)
    assert c["mdd"] == pytest.approx(2.80 * c["se"])


def test_the_seeds_alone_give_the_standard_error_over_seeds() -> None:
    """Instructions with constant scores (no test-set spread) picked differently per seed: the
    spread is the seeds' alone, sd(d) / sqrt(n)."""
    levels = np.linspace(0.0, 1.0, 11)
    scores = [[v] * 6 for v in levels]
    rng = np.random.default_rng(1)
    n = 200
    a, b = rng.integers(0, 11, (n, 1)), rng.integers(0, 11, (n, 1))
    c = _one_task(scores, n).compare("x", "y", "worst_group", [a], [b])
    d = levels[a[:, 0]] - levels[b[:, 0]]
    assert c["diff"] == pytest.approx(100 * d.mean())
    assert c["se"] == pytest.approx(100 * d.std() / math.sqrt(n), rel=0.08)


def test_summarise_applies_the_mdd_and_the_tost_by_hand() -> None:
    boot = np.linspace(-0.01, 0.03, 10_001)  # percentiles: 2.5% -0.009, 97.5% +0.029
    c = summarise("a", "b", "m", 0.01, boot, 25, 0.05)
    assert c["diff"] == pytest.approx(1.0) and c["n"] == 25
    assert c["ci"] == pytest.approx([-0.9, 2.9]) and c["ci90"] == pytest.approx([-0.8, 2.8])
    assert c["mdd"] == pytest.approx(100 * 2.80 * 0.05 / 5)  # 2.80 SD / sqrt(n), points
    assert c["verdict"] == "equivalent"  # the 90% interval inside ±3 points
    wide = summarise("a", "b", "m", 0.01, np.linspace(-0.02, 0.04, 10_001), 25, 0.05)
    assert wide["verdict"] == "inconclusive"  # 90% interval reaches +3.7
    assert (
        summarise("a", "b", "m", 0.02, np.linspace(0.001, 0.04, 101), 25, 0.05)["verdict"] == "win"
    )
    assert summarise("a", "b", "m", 0.02, boot, 9, 0.05)["verdict"] == "too few pairs"


# ------------------------------------------------------------------ bad input
def _bad_tables(tmp_path: Path) -> dict[str, Path]:
    good = synthetic_table("g", levels=(2, 2, 1), n_dev=4, n_test=4)
    out: dict[str, Path] = {}

    def put(name: str, data: object) -> None:
        out[name] = tmp_path / f"{name}.json"
        out[name].write_text(data if isinstance(data, str) else json.dumps(data))

    put("good", good)
    put("notjson", "{")
    put("nested", "[" * 5000 + "]" * 5000)
    out["fifo"] = tmp_path / "fifo.json"
    os.mkfifo(out["fifo"])
    put("format", {**good, "format": "other"})
    put("version", {**good, "version": 2})
    shape = json.loads(json.dumps(good))
    shape["splits"]["test"]["scores"]["case"] = shape["splits"]["test"]["scores"]["case"][:-1]
    put("shape", shape)
    scale = json.loads(json.dumps(good))
    scale["splits"]["dev"]["scores"]["clean"][0][0] = 2
    put("scale", scale)
    return out


@pytest.mark.parametrize(
    ("case", "extra", "message"),
    [
        ("missing", (), "cannot read the table"),
        ("notjson", (), "notjson.json': not JSON"),
        ("nested", (), "nested.json': not JSON"),
        ("fifo", (), "fifo.json': not a regular file"),
        ("format", (), "not an answer table"),
        ("version", (), "version 2, this droiz reads 1"),
        ("shape", (), "test scores of group 'case' have shape (3, 4), expected (4 instructions"),
        ("scale", (), "dev scores of group 'clean' are not all in [0, 1]"),
        ("twice", (), "are both of task 'g'; give one table per task"),
        ("good", ("--n-dev", "5"), "has 4 dev examples in a group; --n-dev 5 asks for more"),
        ("good", ("--budget", "11"), "--budget 11 leaves 2 BO round(s) after --n-init 6"),
        ("good", ("--methods", "dro,drp"), "unknown method 'drp'"),
        ("good", ("--methods", "dro,dro"), "--methods needs distinct method names"),
        ("good", ("--seeds", "0"), "argument --seeds: must be an integer in [1, 10,000]"),
        ("good", ("--seeds", "1000000000"), "argument --seeds: must be an integer in [1, 10,000]"),
        ("good", ("--budget", "1000000000"), "--budget: must be an integer in [1, 100,000]"),
        ("good", ("--workers", "100000"), "argument --workers: must be an integer in [1, 64]"),
        ("good", ("--json", "/proc/droiz-replay.json"), "lies in /proc, a kernel file system"),
        ("good", ("--out", "/proc/droiz-replay"), "lies in /proc, a kernel file system"),
        ("good", ("--ablation", "--group-rule", "reference"), "drop --methods and --group-rule"),
        ("good", ("--ambiguity", "kl:-1"), "ambiguity spec 'kl:-1': KLBall radius eps must be"),
        ("good", ("--workers", "0"), "argument --workers: must be an integer in [1, 64]"),
    ],
)
def test_bad_input_is_refused_in_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, extra: tuple, message: str
) -> None:
    paths = _bad_tables(tmp_path)
    given = {"missing": [tmp_path / "nope.json"], "twice": [paths["good"], paths["good"]]}
    tables = given.get(case, [paths.get(case)])
    out = tmp_path / "out"
    args = ["bench", "table", "replay", *map(str, tables), "--seeds", "2", "--budget", "12"]
    args += ["--n-dev", "4", "--out", str(out), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_an_out_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write_synthetic_table(tmp_path / "t.json", levels=(2, 2, 1), n_dev=4, n_test=4)
    (tmp_path / "file").write_text("x")
    args = ["bench", "table", "replay", str(table), "--out", str(tmp_path / "file")]
    assert main([*args, "--n-dev", "4", "--seeds", "2", "--budget", "12"]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err


def test_the_python_api_bounds_workers_seeds_and_budget(tmp_path: Path) -> None:
    from droiz.exceptions import ConfigError

    table = read_table(write_synthetic_table(tmp_path / "t.json", levels=(2, 2, 1), n_dev=4))
    good = ReplaySettings(seeds=2, budget=12, n_dev=4)
    with pytest.raises(ConfigError, match=r"--workers must be an integer in \[1, 64\]"):
        run_replay([table], good, workers=100_000)
    for bad in ({"seeds": 10_001}, {"budget": 100_001}):
        settings = ReplaySettings(**{"seeds": 2, "budget": 12, "n_dev": 4, **bad})
        with pytest.raises(ConfigError, match="must be an integer in"):
            run_replay([table], settings)
