"""RobustInstructionOptimizer: groups by field, callable and clusters; bad arguments refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dspy
import pytest
from dspy_world import MEAN, ROBUST, World, examples, metric

import droiz.integrations.dspy.groups as groups_module
from droiz.integrations.clusters import cluster_groups
from droiz.integrations.dspy import RobustInstructionOptimizer

SIZES = {"animals": 6, "cities": 5, "numbers": 4}


def compile_with(world: World, **options: Any) -> RobustInstructionOptimizer:
    settings: dict[str, Any] = {"budget": 9, "candidates": [MEAN, ROBUST]}
    robust = RobustInstructionOptimizer(metric, **{**settings, **options})
    robust.compile(world.program(), trainset=examples(SIZES))
    return robust


def test_group_by_a_field_or_a_callable(world: World) -> None:
    by_field = compile_with(world, group_by="topic").result
    assert by_field.groups == SIZES
    by_callable = compile_with(world, group_by=lambda ex: ex.topic.upper()).result
    assert by_callable.groups == {g.upper(): n for g, n in SIZES.items()}
    assert by_callable.instruction == by_field.instruction == ROBUST


@pytest.mark.slow
def test_group_by_clusters_recovers_the_topics_and_is_journaled(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    robust = compile_with(world, group_by="clusters:3", out=tmp_path)
    assert robust.result.groups == {"c0": 6, "c1": 5, "c2": 4}  # named by decreasing size
    table = {c.instruction: c.groups for c in robust.result.candidates}
    assert table[MEAN]["c2"] == 0.0 and robust.result.instruction == ROBUST  # c2: the sums

    def no_embedder(*args: Any, **kwargs: Any) -> list[str]:
        raise AssertionError("the resume embedded the inputs again")

    monkeypatch.setattr(groups_module, "cluster_groups", no_embedder)
    world.server.reset_counts()
    again = compile_with(world, group_by="clusters:3", out=tmp_path)
    assert again.result.groups == robust.result.groups and world.server.n_requests == 0


@pytest.mark.slow
def test_clusters_too_small_are_refused_with_their_sizes() -> None:
    texts = [q for topic in ("animals", "cities") for q, _ in examples_text(topic)]
    texts.append("What is 2 plus 3?")
    with pytest.raises(ValueError, match=r"fewer than 3 examples \(cluster sizes 6, 6, 1\)"):
        cluster_groups(texts, 3, seed=0)


def examples_text(topic: str) -> list[tuple[str, str]]:
    from dspy_world import QUESTIONS

    return QUESTIONS[topic]


BAD_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"metric": 3}, TypeError, "metric must be a callable"),
    ({"group_by": 3}, TypeError, "group_by must be an example field name"),
    ({"group_by": "clusters:x"}, ValueError, "clusters:K"),
    ({"group_by": "clusters:1"}, ValueError, "K >= 2"),
    ({"group_by": "clusters:9"}, ValueError, "needs at least 27 valset examples"),
    ({"group_by": "colour"}, ValueError, "has no field 'colour'"),
    ({"group_by": lambda ex: "one"}, ValueError, "one group"),
    ({"group_by": lambda ex: ex.missing}, ValueError, "group_by raised AttributeError"),
    ({"ambiguity": "kl:-1"}, ValueError, "kl"),
    ({"ambiguity": "spline:1"}, ValueError, "spline"),
    ({"ambiguity": 0.1}, TypeError, "ambiguity must be a spec"),
    ({"budget": 0}, ValueError, "budget must be an integer >= 1"),
    ({"budget": "20"}, TypeError, "budget must be an integer"),
    ({"method": "nope"}, ValueError, "nope"),
    ({"candidates": MEAN}, TypeError, "candidates must be a list"),
    ({"candidates": [MEAN, " "]}, ValueError, r"candidates\[1\] is empty"),
    ({"candidates": []}, ValueError, "nothing to choose from"),
    ({"proposer_lm": "openai/fake"}, TypeError, "proposer_lm must be a DSPy LM"),
    ({"predictor": "nope"}, ValueError, "predictor='nope' is not a predictor"),
    ({"max_requests": 0}, ValueError, "max_requests must be an integer >= 1"),
    ({"max_cost": -1.0}, ValueError, "max_cost must be a number of USD > 0"),
    ({"max_cost": 1.0}, ValueError, "max_cost needs a bound on each answer"),
    ({"max_tokens": 100}, ValueError, "max_tokens needs a bound on each answer"),
    ({"prices": {"fake": (1.0,)}}, ValueError, "price of 'fake'"),
    ({"out": 3}, TypeError, "out must be a directory path"),
    ({"num_threads": 0}, ValueError, "num_threads must be an integer >= 1"),
]


@pytest.mark.parametrize(("options", "kind", "message"), BAD_OPTIONS)
def test_bad_options_are_refused_in_one_line_before_any_request(
    world: World, options: dict[str, Any], kind: type[Exception], message: str
) -> None:
    settings: dict[str, Any] = {
        "metric": metric,
        "group_by": "topic",
        "budget": 9,
        "candidates": [MEAN, ROBUST],
    }
    with pytest.raises(kind, match=message) as info:
        robust = RobustInstructionOptimizer(**{**settings, **options})
        robust.compile(world.program(), trainset=examples())
    assert "\n" not in str(info.value)
    assert world.server.n_requests == 0


def test_max_cost_needs_a_price(world: World) -> None:
    with dspy.context(lm=world.make_lm(max_tokens=20)):
        robust = RobustInstructionOptimizer(
            metric, group_by="topic", budget=9, candidates=[MEAN], max_cost=1.0
        )
        with pytest.raises(ValueError, match="max_cost needs the price of 'openai/fake'"):
            robust.compile(world.program(), trainset=examples())
    assert world.server.n_requests == 0


BAD_DATA: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"student": "program"}, TypeError, "student must be a dspy.Module"),
    ({"trainset": "data"}, TypeError, "trainset must be a list of dspy.Example"),
    ({"trainset": []}, ValueError, "valset is empty"),
    ({"trainset": [{"question": "q"}]}, TypeError, r"trainset\[0\] must be a dspy.Example"),
    ({"valset": [dspy.Example(question="q", topic="a")]}, ValueError, "no input fields"),
    ({"teacher": dspy.Predict("question -> answer")}, TypeError, "teacher= is not used"),
    ({"num_trials": 3}, TypeError, "unexpected keyword arguments"),
]


@pytest.mark.parametrize(("arguments", "kind", "message"), BAD_DATA)
def test_bad_compile_arguments_are_refused_before_any_request(
    world: World, arguments: dict[str, Any], kind: type[Exception], message: str
) -> None:
    robust = RobustInstructionOptimizer(
        metric, group_by="topic", budget=9, candidates=[MEAN, ROBUST]
    )
    call: dict[str, Any] = {"student": world.program(), "trainset": examples(), **arguments}
    student = call.pop("student")
    with pytest.raises(kind, match=message) as info:
        robust.compile(student, **call)
    assert "\n" not in str(info.value)
    assert world.server.n_requests == 0


def test_a_program_without_an_lm_is_refused(world: World) -> None:
    robust = RobustInstructionOptimizer(metric, group_by="topic", budget=9, candidates=[MEAN])
    with dspy.context(lm=None), pytest.raises(ValueError, match="has no LM"):
        robust.compile(world.program(), trainset=examples())
    assert world.server.n_requests == 0


def test_a_proposer_needs_demos(world: World) -> None:
    robust = RobustInstructionOptimizer(
        metric, group_by="topic", budget=9, proposer_lm=world.make_lm()
    )
    with pytest.raises(ValueError, match="trainset is empty"):
        robust.compile(world.program(), trainset=[], valset=examples())
    assert world.server.n_requests == 0


def test_a_metric_that_returns_no_number_is_refused(world: World) -> None:
    robust = RobustInstructionOptimizer(
        lambda ex, pred, trace=None: pred.answer, group_by="topic", budget=9, candidates=[MEAN]
    )
    with pytest.raises(
        TypeError, match=r"the metric returned '\w+' for valset example \d+; return a finite number"
    ):
        robust.compile(world.program(), trainset=examples())
