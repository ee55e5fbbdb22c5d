"""RobustInstructionOptimizer: DSPy programs against the loopback server of ``dspy_world``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dspy
import pytest
from dspy_world import CURRENT, MEAN, PROPOSED, ROBUST, World, examples, metric

from droiz.integrations.dspy import RobustInstructionOptimizer
from droiz.llm.budget import BudgetExceeded
from droiz.llm.ledger import read_ledger


def optimizer(**options: Any) -> RobustInstructionOptimizer:
    settings: dict[str, Any] = {"group_by": "topic", "budget": 9, "candidates": [MEAN, ROBUST]}
    return RobustInstructionOptimizer(metric, **{**settings, **options})


def instruction(program: dspy.Module, name: str | None = None) -> str:
    predictors = dict(program.named_predictors())
    pred = predictors[name] if name else next(iter(predictors.values()))
    return str(pred.signature.instructions)


def test_the_robust_candidate_wins_where_the_best_mean_fails_a_group(world: World) -> None:
    robust = optimizer()
    compiled = robust.compile(world.program(), trainset=examples())
    result = robust.result
    assert result is not None and instruction(compiled) == ROBUST == result.instruction
    table = {c.instruction: c for c in result.candidates}
    assert table[MEAN].report and table[ROBUST].report  # every group observed for both
    assert table[MEAN].report.mean > table[ROBUST].report.mean  # MEAN has the best mean...
    assert table[MEAN].groups["numbers"] == 0.0  # ...and fails a group
    assert table[ROBUST].report.worst_group == pytest.approx(0.6)
    assert result.requests == world.server.n_requests == 45  # 3 candidates x 15 examples
    nominal = optimizer(method="ucb")  # the same search with a mean objective picks MEAN
    assert instruction(nominal.compile(world.program(), trainset=examples())) == MEAN


def test_the_student_is_not_modified(world: World) -> None:
    student = world.program()
    before = json.dumps(student.dump_state(), sort_keys=True, default=repr)
    compiled = optimizer().compile(student, trainset=examples())
    assert compiled is not student and instruction(compiled) == ROBUST
    assert json.dumps(student.dump_state(), sort_keys=True, default=repr) == before
    assert instruction(student) == CURRENT


def test_a_second_compile_with_the_same_out_sends_no_request(world: World, tmp_path: Path) -> None:
    first = optimizer(out=tmp_path)
    first.compile(world.program(), trainset=examples())
    sent = world.server.n_requests
    assert sent == first.result.requests > 0
    world.server.reset_counts()
    again = optimizer(out=tmp_path)
    compiled = again.compile(world.program(), trainset=examples())
    assert world.server.n_requests == 0 and again.result.requests == 0
    assert again.result.total_requests == sent
    assert instruction(compiled) == first.result.instruction == ROBUST
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["instruction"] == ROBUST and saved["total_requests"] == sent


def test_dspy_s_cache_is_off_even_across_endpoints_serving_one_model_name(world: World) -> None:
    first = optimizer()
    first.compile(world.program(), trainset=examples())
    assert world.server.n_requests == 45  # the LM has DSPy's cache on (its default)
    world.server.reset_counts()
    # another endpoint with the same model name, where MEAN is right everywhere: DSPy's cache
    # key leaves api_base out, so a cached answer from the first server would be wrong here
    with World(mean_fails=None) as other:
        second = optimizer()
        compiled = second.compile(other.program(), trainset=examples())
        assert other.server.n_requests == 45 and world.server.n_requests == 0
        assert instruction(compiled) == MEAN


def test_max_requests_holds_and_a_resume_pays_for_nothing_twice(
    world: World, tmp_path: Path
) -> None:
    with pytest.raises(BudgetExceeded, match="max-requests cap of 7") as info:
        optimizer(out=tmp_path, max_requests=7).compile(world.program(), trainset=examples())
    assert "\n" not in str(info.value) and world.server.n_requests == 7  # in the first evaluation
    capped = optimizer(out=tmp_path, max_requests=25)  # the cap counts the 7 already sent
    compiled = capped.compile(world.program(), trainset=examples())
    assert world.server.n_requests == 25 and capped.result.stopped == "max_requests"
    assert capped.result.evaluations == 2  # the initial design's first two (10 requests each)
    assert instruction(compiled) in (CURRENT, MEAN)
    resumed = optimizer(out=tmp_path)  # no cap: it finishes, paying only for what is left
    assert instruction(resumed.compile(world.program(), trainset=examples())) == ROBUST
    assert world.server.n_requests == resumed.result.total_requests == 45
    assert resumed.result.requests == 20 and resumed.result.stopped is None


def test_every_request_counts_adapter_fallbacks_and_retries_included() -> None:
    with World(flaky_group="numbers") as world:  # each sum: a chat answer, then a JSON one
        world.server.add_fault("500", times=2, retry_after=0.01)
        robust = optimizer()
        robust.compile(world.program(), trainset=examples())
        assert world.server.n_requests == robust.result.requests == 45 + 15 + 2
        world.server.reset_counts()
        capped = optimizer(max_requests=20)
        capped.compile(world.program(), trainset=examples())
        assert world.server.n_requests == 20 and capped.result.stopped == "max_requests"


def test_max_cost_holds(world: World, tmp_path: Path) -> None:
    world.lm = world.make_lm(max_tokens=20)
    with dspy.context(lm=world.lm):
        capped = optimizer(out=tmp_path, max_cost=0.15, prices={"fake": (100.0, 100.0)})
        capped.compile(world.program(), trainset=examples())
    assert capped.result.stopped == "max_cost"
    reading = read_ledger(tmp_path / "budget.jsonl")
    assert reading is not None
    requests, _, cost = reading.spent
    assert cost <= 0.15 and requests == world.server.n_requests > 0


def test_a_program_with_several_predictors_optimises_the_one_named(world: World) -> None:
    class TwoSteps(dspy.Module):
        def __init__(self) -> None:
            super().__init__()
            self.draft = dspy.Predict("question -> notes")
            self.answer = dspy.Predict("question -> answer")
            self.answer.signature = self.answer.signature.with_instructions(CURRENT)

        def forward(self, question: str) -> dspy.Prediction:
            return self.answer(question=question)

    student = TwoSteps()
    student.set_lm(world.make_lm())  # the predictors' own LM, and none configured
    with dspy.context(lm=None):
        robust = optimizer(predictor="answer", max_requests=44)
        compiled = robust.compile(student, trainset=examples())
    assert instruction(compiled, "answer") == ROBUST
    assert instruction(compiled, "draft") == instruction(student, "draft")
    assert world.server.n_requests == robust.result.requests == 44  # counted and capped
    assert robust.result.stopped == "max_requests"


def test_the_proposer_s_instructions_are_candidates_and_are_journaled(
    world: World, tmp_path: Path
) -> None:
    proposer = world.make_lm()
    robust = optimizer(candidates=[MEAN], proposer_lm=proposer, n_proposals=2, out=tmp_path)
    compiled = robust.compile(world.program(), trainset=examples())
    assert instruction(compiled) == PROPOSED
    assert [c.source for c in robust.result.candidates] == ["current", "given", "proposed"]
    assert robust.result.requests == world.server.n_requests == 2 + 45
    world.server.reset_counts()
    again = optimizer(candidates=[MEAN], proposer_lm=proposer, n_proposals=2, out=tmp_path)
    assert instruction(again.compile(world.program(), trainset=examples())) == PROPOSED
    assert world.server.n_requests == 0


def test_threads_give_the_same_pick_and_the_cap_still_holds(world: World) -> None:
    threaded = optimizer(num_threads=4)
    assert instruction(threaded.compile(world.program(), trainset=examples())) == ROBUST
    assert world.server.n_requests == threaded.result.requests == 45
    world.server.reset_counts()
    capped = optimizer(num_threads=4, max_requests=25)
    capped.compile(world.program(), trainset=examples())
    assert world.server.n_requests == 25 and capped.result.stopped == "max_requests"


def test_an_answer_given_after_the_program_caught_the_cap_is_not_scored(
    world: World, tmp_path: Path
) -> None:
    class Guarded(dspy.Module):  # turns every failure into an answer that scores on the sums
        def __init__(self) -> None:
            super().__init__()
            self.answer = dspy.Predict("question -> answer")
            self.answer.signature = self.answer.signature.with_instructions(CURRENT)

        def forward(self, question: str) -> dspy.Prediction:
            try:
                return self.answer(question=question)
            except Exception:
                return dspy.Prediction(answer="8")

    reference = optimizer()
    reference.compile(Guarded(), trainset=examples())
    optimizer(out=tmp_path, max_requests=25).compile(Guarded(), trainset=examples())
    resumed = optimizer(out=tmp_path)
    resumed.compile(Guarded(), trainset=examples())
    assert resumed.result.total_requests == 45
    assert [c.groups for c in resumed.result.candidates] == [
        c.groups for c in reference.result.candidates
    ]


def test_several_completions_a_call_are_counted_as_the_requests_they_are(world: World) -> None:
    program = dspy.Predict("question -> answer", n=2)  # DSPy sends one request per completion
    program.signature = program.signature.with_instructions(CURRENT)
    capped = optimizer(max_requests=50)
    capped.compile(program, trainset=examples())
    assert world.server.n_requests == capped.result.requests == 50
    assert capped.result.stopped == "max_requests"
