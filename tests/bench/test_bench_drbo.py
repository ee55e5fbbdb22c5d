"""``droiz bench drbo``: the incremental posterior, the radii, WCS, the JSON schema, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from droiz.ambiguity import Chi2Ball
from droiz.bench.drbo import METHODS, GridPosterior, run_drbo, to_json
from droiz.bench.drbo_problem import (
    NOISE_VAR,
    SETS,
    ambiguity_set,
    has_wcs,
    make_problem,
    radius,
    wcs_values,
)
from droiz.cli import main


def _full_posterior(prior: torch.Tensor, idx: list[int], y: torch.Tensor, noise: float):
    """The textbook GP posterior on the grid from all observations at once."""
    k_nn = prior[idx][:, idx] + noise * torch.eye(len(idx), dtype=torch.float64)
    k_sn = prior[:, idx]
    chol = torch.linalg.cholesky(k_nn)
    mean = k_sn @ torch.cholesky_solve(y[:, None], chol).squeeze(-1)
    var = prior.diagonal() - (k_sn * torch.cholesky_solve(k_sn.T, chol).T).sum(-1)
    return mean, var


def test_incremental_posterior_equals_the_full_gp_posterior() -> None:
    problem = make_problem(3)
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(len(problem.prior), (60,), generator=gen).tolist()
    idx[10:14] = [idx[3]] * 4  # repeated observations of one point
    y = problem.f.reshape(-1)[idx] + 0.03 * torch.randn(60, generator=gen, dtype=torch.float64)
    post = GridPosterior(problem.prior, NOISE_VAR, 60)
    for n, (j, v) in enumerate(zip(idx, y.tolist(), strict=True), start=1):
        post.update(j, v)
        if n in (1, 7, 30, 60):
            mean, var = _full_posterior(problem.prior, idx[:n], y[:n], NOISE_VAR)
            assert torch.allclose(post.mean, mean, rtol=0, atol=1e-8)
            assert torch.allclose(post.var, var, rtol=0, atol=1e-8)
    clone = post.copy()
    clone.update(0, 1.0)
    assert clone.n == 61 and post.n == 60  # copies are independent


def test_radii_put_the_true_distribution_on_the_boundary() -> None:
    problem = make_problem(0)
    ref, true = problem.ref, problem.true
    assert float(ref.min()) >= 1e-3 / 20 - 1e-15 and abs(float(ref.sum()) - 1.0) < 1e-12
    assert float(ref[0]) > 10 * float(ref[-1])  # shifted to the low contexts
    w1 = wasserstein_distance(problem.contexts, problem.contexts, true, ref)
    assert radius("w1", true, ref, problem.contexts) == pytest.approx(w1, rel=1e-10)
    assert radius("tv", true, ref, problem.contexts) == pytest.approx(
        0.5 * float((true - ref).abs().sum())
    )
    u = torch.randn(200, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    # directions in which the true distribution is each ball's minimiser (KL, chi-square, TV, W1)
    toward = [torch.log(ref / true), 1.0 - true / ref, -(true > ref).double()]
    u = torch.cat([torch.stack(toward), u])
    for name in SETS:
        amb = ambiguity_set(name, problem)
        value = amb.worst_case(u, ref).value
        assert (value <= u @ true + 1e-9).all(), name  # the true distribution is in the ball
        # and on its boundary: a slightly smaller ball excludes it for some u
        smaller = type(amb)(0.5 * amb.radius, *([amb.cost] if name == "w1" else []))
        assert (smaller.worst_case(u, ref).value > u @ true + 1e-9).any(), name


def test_wcs_is_defined_for_tv_chi2_w1_and_bounds_the_exact_value() -> None:
    problem = make_problem(1)
    u = torch.randn(100, 20, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert [has_wcs(n) for n in SETS] == [False, True, True, True]
    with pytest.raises(ValueError, match="not defined for 'kl'"):
        wcs_values("kl", u, problem.ref, 0.1, problem.contexts)
    for name in ("tv", "w1"):  # first-order bounds: never above the exact worst case
        amb = ambiguity_set(name, problem)
        exact = amb.worst_case(u, problem.ref).value
        assert (
            wcs_values(name, u, problem.ref, amb.radius, problem.contexts) <= exact + 1e-9
        ).all()
    ref = torch.full((20,), 0.05, dtype=torch.float64)  # small ball: no weight hits zero
    exact = Chi2Ball(0.01).worst_case(u, ref).value
    approx = wcs_values("chi2", u, ref, 0.01, problem.contexts)
    assert torch.allclose(approx, exact, atol=1e-9)


def test_json_schema_is_exact_and_wcs_is_null_for_kl() -> None:
    payload = to_json(run_drbo([0, 1], 4, SETS), 4, [0, 1])
    assert list(payload) == ["T", "seeds", "sets"]
    assert payload["T"] == [1, 2, 3, 4] and payload["seeds"] == [0, 1]
    assert list(payload["sets"]) == list(SETS)
    for name, by_method in payload["sets"].items():
        assert list(by_method) == list(METHODS)
        assert (by_method["wcs"] is None) == (name == "kl")
        for summary in by_method.values():
            if summary is None:
                continue
            assert list(summary) == ["cum_regret_mean", "cum_regret_se", "ask_seconds"]
            mean = np.array(summary["cum_regret_mean"])
            assert len(mean) == 4 and len(summary["cum_regret_se"]) == 4
            assert (np.diff(mean) >= -1e-12).all() and mean[0] >= 0  # regret is non-negative
            assert isinstance(summary["ask_seconds"], float) and summary["ask_seconds"] > 0
    json.dumps(payload)


def test_cli_writes_the_json_plot_and_table(tmp_path: Path, capsys) -> None:
    out_json, out_dir = tmp_path / "d.json", tmp_path / "out"
    argv = ["bench", "drbo", "--seeds", "2", "--steps", "6", "--sets", "kl,w1"]
    assert main([*argv, "--json", str(out_json), "--out", str(out_dir)]) == 0
    data = json.loads(out_json.read_text())
    assert list(data["sets"]) == ["kl", "w1"] and data["sets"]["kl"]["wcs"] is None
    full = json.loads((out_dir / "results.json").read_text())
    assert set(full["flattens"]) == {"kl", "w1"} and full["radii"]["kl"] > 0
    assert (out_dir / "drbo_regret.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "R(6)" in printed and "n/a" in printed and "DRO-UCB" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sets", "kl,foo"], "--sets got unknown set(s) foo"),
        (["--sets", "kl,kl"], "--sets got an empty or repeated list"),
        (["--seeds", "0"], "argument --seeds: must be an integer in [1, 10,000]"),
        (["--seeds", "1000000000"], "argument --seeds: must be an integer in [1, 10,000]"),
        (["--steps", "0"], "argument --steps: must be an integer in [1, 100,000]"),
        (["--steps", "1000000000"], "argument --steps: must be an integer in [1, 100,000]"),
    ],
)
def test_cli_rejects_bad_input_in_one_line(args: list[str], message: str, capsys) -> None:
    assert main(["bench", "drbo", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow
def test_dro_ucb_regret_flattens_where_gp_ucb_keeps_growing_for_kl() -> None:
    payload = to_json(run_drbo([0, 1, 2], 200, ["kl"]), 200, [0, 1, 2])
    kl = payload["sets"]["kl"]
    dro, ucb = kl["dro-ucb"]["cum_regret_mean"], kl["gp-ucb"]["cum_regret_mean"]
    assert dro[199] - dro[99] < ucb[199] - ucb[99]
