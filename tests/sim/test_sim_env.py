"""The SIMULATED environment: piecewise constant, deterministic, two scenarios."""

from __future__ import annotations

import numpy as np
import torch

from droiz.sim.env import LABEL, SimulatedPromptEnv


def test_soft_prompt_maps_piecewise_constant_to_the_pool() -> None:
    env = SimulatedPromptEnv(seed=0)
    z = torch.rand(200, 10, dtype=torch.float64) * 2 - 1
    ids = env.instruction(z)
    assert all(0 <= i < env.scenario.pool_size for i in ids)
    nudged = env.instruction(z + 1e-9)
    assert nudged == ids  # tiny moves keep the instruction
    far = env.instruction(-z)
    assert sum(a != b for a, b in zip(ids, far, strict=True)) > 150  # big moves change it


def test_outcomes_are_deterministic_and_dev_differs_from_test() -> None:
    a, b = SimulatedPromptEnv(seed=3), SimulatedPromptEnv(seed=3)
    z = torch.rand(10, 10, dtype=torch.float64) * 2 - 1
    groups = torch.ones(10, 4, dtype=torch.bool)
    ea, eb = a.evaluate(z, groups), b.evaluate(z, groups)
    assert torch.equal(ea.y, eb.y) and torch.equal(ea.scores, eb.scores)
    assert not np.array_equal(a._dev, SimulatedPromptEnv(seed=4)._dev)
    assert a._dev.shape[-1] == 20 and a._test.shape[-1] == 300
    assert a.test_accuracy(ea.instructions[0]) != {
        g: float(v) for g, v in zip(a.groups, ea.y[0].tolist(), strict=True)
    }


def test_evaluate_masks_unobserved_groups() -> None:
    env = SimulatedPromptEnv(seed=1)
    z = torch.zeros(2, 10, dtype=torch.float64)
    mask = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0]], dtype=torch.bool)
    ev = env.evaluate(z, mask)
    assert torch.isnan(ev.y[~mask]).all() and torch.isfinite(ev.y[mask]).all()
    assert ev.scores.shape == (2, 4 * 20)
    assert torch.isnan(ev.scores[1, :20]).all() and torch.isfinite(ev.scores[1, 20:40]).all()
    torch.testing.assert_close(ev.y[0, 0], ev.scores[0, :20].mean())


def test_tradeoff_scenario_best_on_average_is_fragile() -> None:
    holds, gains = 0, []
    for seed in range(12):
        env = SimulatedPromptEnv("tradeoff", seed=seed)
        best = env.oracle()
        mean_pick, robust_pick = env.prob[best["best_mean"]], env.prob[best["best_worst_group"]]
        gains.append(robust_pick.min() - mean_pick.min())
        holds += env.robustness[best["best_mean"]] < 0.5 and gains[-1] > 0.05
        assert mean_pick.mean() >= robust_pick.mean()
    assert holds >= 8 and np.mean(gains) > 0.08
    shares = [SimulatedPromptEnv(seed=s).robustness.mean() for s in range(5)]
    assert 0.1 < np.mean(shares) < 0.35  # robust instructions exist but are rarer


def test_neutral_scenario_best_on_average_is_most_robust() -> None:
    for seed in range(8):
        env = SimulatedPromptEnv("neutral", seed=seed)
        best = env.oracle()
        picks = env.prob[[best["best_mean"], best["best_worst_group"]]]
        assert picks[0].min() >= picks[1].min() - 0.02


def test_reports_use_the_shared_evaluation_quantities() -> None:
    env = SimulatedPromptEnv(seed=2)
    rep = env.report(5)
    acc = env.test_accuracy(5)
    assert rep.worst_group == min(acc.values())
    assert abs(rep.mean - np.mean(list(acc.values()))) < 1e-12
    expected = 0.1 * acc["clean"] + 0.3 * sum(v for g, v in acc.items() if g != "clean")
    assert abs(rep.shifted - expected) < 1e-12
    assert LABEL == "SIMULATED"
