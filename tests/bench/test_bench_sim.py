"""``droiz bench sim`` (SIMULATED): the radius-0 row, sample efficiency, JSON schema, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from droiz.acquisition import RobustUCB, mixture_ucb
from droiz.ambiguity import Nominal
from droiz.bench.sim import PAIRS, ROWS, BenchRun, efficiency
from droiz.cli import main
from droiz.sim.env import SimulatedPromptEnv
from droiz.surrogate.build import make_gp

METRICS = ["mean_acc", "worst_group_acc", "shifted_acc", "evaluations"]


def test_radius_zero_robust_ucb_is_the_reference_sum_of_per_group_ucbs() -> None:
    env = SimulatedPromptEnv("tradeoff", seed=0)
    gen = torch.Generator().manual_seed(0)
    z = torch.rand(30, env.dim, generator=gen, dtype=torch.float64) * 2 - 1
    groups = torch.rand(30, env.n_groups, generator=gen) < 0.6
    groups[:, 0] = True
    gp = make_gp("matern", z, env.evaluate(z, groups).y, maxiter=30)
    ref, beta = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64), 1.7
    x = torch.rand(12, env.dim, generator=gen, dtype=torch.float64) * 2 - 1
    mean, var = gp.predict(x)
    expected = (mean + beta * var.sqrt()) @ ref
    with torch.no_grad():
        got = RobustUCB(gp, beta, Nominal(), ref)(x.unsqueeze(-2))
        mixture = mixture_ucb(gp, beta, ref)(x.unsqueeze(-2))
    assert torch.allclose(got, expected, atol=1e-10)
    # the UCB baseline's bonus beta sqrt(w' Sigma w) is at most the linear sum_t w_t beta sigma_t
    assert (mixture <= got + 1e-10).all() and (mixture < got - 1e-6).any()


def _run(name: str, seed: int, wg: float, checkpoints: list[tuple[int, float]]) -> BenchRun:
    return BenchRun(name, seed, 0.8, wg, 0.8, 150, checkpoints=checkpoints)


def test_efficiency_is_the_first_checkpoint_reaching_eis_final_worst_group() -> None:
    rows = {
        "ei": [_run("ei", 0, 0.6, [(25, 0.5), (50, 0.6)]), _run("ei", 1, 0.7, [(25, 0.7)])],
        "dro": [
            _run("dro", 0, 0.65, [(25, 0.4), (50, 0.61), (75, 0.65)]),
            _run("dro", 1, 0.5, [(25, 0.69), (50, 0.5)]),
        ],
    }
    assert efficiency(rows) == {"ei": [50, 25], "dro": [50, None]}


def test_cli_writes_exactly_the_schema(tmp_path: Path, capsys) -> None:
    out_json, out_dir = tmp_path / "s.json", tmp_path / "out"
    argv = ["bench", "sim", "--seeds", "2", "--budget", "30", "--workers", "1"]
    assert main([*argv, "--json", str(out_json), "--out", str(out_dir)]) == 0
    data = json.loads(out_json.read_text())
    assert list(data) == ["budget", "seeds", "methods", "paired", "efficiency"]
    assert data["budget"] == 30 and data["seeds"] == [0, 1]
    assert list(data["methods"]) == list(ROWS)
    for row in data["methods"].values():
        assert list(row) == METRICS and row["evaluations"] == [30, 30]
    assert list(data["paired"]) == list(PAIRS)
    for stats in data["paired"].values():
        assert list(stats) == ["mean", "ci95", "wins", "ties", "losses"]
        assert stats["wins"] + stats["ties"] + stats["losses"] == 2
        assert stats["ci95"][0] <= stats["mean"] <= stats["ci95"][1]
    dro, ei = data["methods"]["dro"]["worst_group_acc"], data["methods"]["ei"]["worst_group_acc"]
    assert data["paired"]["dro-ei"]["mean"] == pytest.approx((dro[0] - ei[0] + dro[1] - ei[1]) / 2)
    assert list(data["efficiency"]) == list(ROWS)
    assert all(v is None or v in (25, 30) for vs in data["efficiency"].values() for v in vs)
    assert all(v is not None for v in data["efficiency"]["ei"])  # EI reaches its own final pick
    full = json.loads((out_dir / "results.json").read_text())
    assert full["label"] == "SIMULATED" and full["group_rule"] == "reference"
    assert (out_dir / "best_so_far.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "[SIMULATED]" in printed and "robust UCB, radius 0" in printed
    assert "DRO - robust UCB radius 0:" in printed and "wins/ties/losses" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group-rule", "lcb"], "--group-rule must be reference or auto"),
        (["--scenario", "easy"], "argument --scenario: invalid choice: 'easy'"),
        (["--json", ""], "argument --json: an empty path is not allowed"),
        (["--out", ""], "argument --out: an empty path is not allowed"),
        (["--budget", "10"], "--budget must be at least 30"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--ambiguity", "kll:1"], "did you mean"),
    ],
)
def test_cli_rejects_bad_input_in_one_line(args: list[str], message: str, capsys) -> None:
    assert main(["bench", "sim", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
