"""The exact search over a finite candidate set (no DSPy): picks, no repeated pairs, budget."""

from __future__ import annotations

import pytest
import torch

from droiz.integrations.candidates import CandidateSearch, Evaluation, candidate_search
from droiz.optim import METHODS

# rows: candidates; columns: groups. 1 has the best mean but fails group 2; 2 is the robust one
TRUTH = torch.tensor(
    [[0.2, 0.2, 0.2], [1.0, 1.0, 0.0], [0.6, 0.6, 0.6], [0.5, 0.7, 0.3]], dtype=torch.float64
)


def run(search: CandidateSearch, truth: torch.Tensor = TRUTH) -> list[Evaluation]:
    asked = []
    while not search.stop():
        evaluations = search.ask()
        y = torch.full((len(evaluations), truth.shape[1]), float("nan"), dtype=torch.float64)
        for row, ev in enumerate(evaluations):
            y[row, list(ev.groups)] = truth[ev.candidate, list(ev.groups)]
        search.tell(evaluations, y)
        asked += evaluations
    return asked


@pytest.mark.parametrize(("method", "expected"), [("dro", 2), ("hybrid", 2), ("ucb", 1), ("ei", 1)])
def test_robust_methods_pick_the_best_worst_case_and_nominal_ones_the_best_mean(
    method: str, expected: int
) -> None:
    search = candidate_search(4, 3, method=method, ambiguity="kl:0.1", budget=12, seed=0)
    run(search)
    assert search.best().candidate == expected


@pytest.mark.parametrize("method", sorted(METHODS.names()))
@pytest.mark.parametrize(("budget", "per"), [(5, 2), (20, 2), (7, 1)])
def test_no_pair_is_observed_twice_and_the_budget_holds(method: str, budget: int, per: int) -> None:
    search = candidate_search(
        4, 3, method=method, ambiguity="kl:0.1", budget=budget, seed=1, groups_per_round=per
    )
    asked = run(search)
    pairs = [(ev.candidate, g) for ev in asked for g in ev.groups]
    assert len(pairs) == len(set(pairs))
    assert len(asked) == search.n_evaluations <= budget
    assert all(1 <= len(ev.groups) <= per for ev in asked)
    assert search.stop() == ({"exhausted": True} if len(pairs) == 12 else {"budget": budget})
    assert 0 <= search.best().candidate < 4


def test_the_design_starts_with_the_first_candidate_and_runs_are_deterministic() -> None:
    one = run(candidate_search(4, 3, method="dro", ambiguity="kl:0.1", budget=9, seed=3))
    two = run(candidate_search(4, 3, method="dro", ambiguity="kl:0.1", budget=9, seed=3))
    assert one == two and one[0].candidate == 0
    assert sorted(ev.candidate for ev in one[:4]) == [0, 1, 2, 3]  # the design: each once


def test_telling_a_seen_pair_again_is_refused() -> None:
    search = candidate_search(2, 2, method="dro", ambiguity="kl:0.1", budget=4, seed=0)
    evaluations = search.ask()
    y = torch.zeros(len(evaluations), 2, dtype=torch.float64)
    search.tell(evaluations, y)
    with pytest.raises(ValueError, match="already observed"):
        search.tell(evaluations[:1], y[:1])
