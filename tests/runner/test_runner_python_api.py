"""``droiz.optimize`` in Python's terms: a list of examples, a callable executor and metric, a
list of candidates, a ``RunConfig``; typed keyword settings; ``result.best`` a ``RunBest``."""

from __future__ import annotations

import inspect
import json
import pickle
import types
import typing
import warnings
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import FAST_ENGINE, closed_port_url, read_best, read_records

import droiz
from droiz.exceptions import BackendError, ConfigError, DataError
from droiz.llm import Executor
from droiz.runner import RunBest, RunConfig
from droiz.runner.api import optimize
from droiz.runner.settings.config import RUN_SCHEMA
from droiz.runner.settings.files import resolve_config
from droiz.testing import FakeOpenAIServer, InstructionWorld

SMALL = {
    "budget": 20,
    "n_init": 10,
    "batch_size": 10,
    "n_dev": 10,
    "kernel": "matern",
    "engine": dict(FAST_ENGINE),
}
"""A small, fast run (the loop's logic is what these tests check)."""


@pytest.fixture(scope="module")
def examples(world: InstructionWorld) -> list[dict[str, Any]]:
    """The world's task as a list of dicts (no file)."""
    n = world.n_induce
    return [
        {"input": w, "output": w[::-1], "split": "induce" if i < n else "test"}
        for i, w in enumerate(world.words)
    ]


def make_llm(world: InstructionWorld, calls: list[int] | None = None) -> Any:
    """The world's scripted LLM as a plain function ``prompts -> answers``."""

    def world_llm(prompts: list[str]) -> list[str]:
        if calls is not None:
            calls.append(len(prompts))
        return [world.answer(p) for p in prompts]

    return world_llm


def reversed_word(answer: str, golds: list[str]) -> float:
    """A metric of the user's own: 1.0 when the answer is one of the golds."""
    return float(answer.strip().lower() in golds)


def test_optimize_takes_examples_a_callable_executor_candidates_and_a_metric(
    world: InstructionWorld, examples: list[dict[str, Any]], tmp_path: Path
) -> None:
    calls: list[int] = []
    out = tmp_path / "run"
    result = droiz.optimize(
        examples,
        executor=make_llm(world, calls),
        generator=world.instructions,
        metric=reversed_word,
        out=out,
        **SMALL,
    )
    best = result.best
    assert isinstance(best, RunBest) and best.finished
    assert best.instruction in world.instructions and best.instruction == result.instruction
    assert best.test is not None and set(best.test.per_group) == set(best.groups)
    assert set(best.dev) <= set(best.groups) and best.robust_value == result.robust_value
    assert best.fingerprints["executor"].startswith("python:")
    assert sum(calls) == result.stats["requests"] > 0
    settings = json.loads((out / "config.json").read_text())["settings"]
    assert settings["executor"] == f"python:{__name__}.make_llm.<locals>.world_llm"
    assert settings["metric"] == f"python:{__name__}.reversed_word"
    assert settings["task"] == [str((out / "examples.jsonl").absolute())]
    assert settings["generator"] == f"pool:{(out / 'candidates.json').absolute()}"
    saved = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
    assert saved == examples
    assert json.loads((out / "candidates.json").read_text()) == world.instructions
    assert best == read_best(out)  # and a read-only dict of best.json's content
    assert json.loads(json.dumps(best)) == read_best(out)
    assert pickle.loads(pickle.dumps(best)) == best
    with pytest.raises(TypeError, match="read-only"):
        best["instruction"] = "changed"  # type: ignore[index]


def test_the_keyword_settings_are_the_schema_s_names_types_and_defaults() -> None:
    params = inspect.signature(optimize).parameters
    hints = typing.get_type_hints(optimize)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    wider = {"task", "generator", "executor", "metric"}  # they take objects too (inputs.py)
    for s in RUN_SCHEMA:
        param = params[s.name]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY or s.name == "task", s.name
        assert param.default is None, s.name  # None: the config's value, else the default
        if s.name in wider:
            continue
        accepted, declared = _members(hints[s.name]), _members(s.type)
        assert declared | {type(None)} <= accepted, (s.name, hints[s.name], s.type)
    settings = set(params) - {"legacy", "config", "out", "resume", "progress", "announce"}
    assert settings == {s.name for s in RUN_SCHEMA}
    required = {"task": "t.jsonl", "generator": "pool:p.txt", "executor": "openai:m"}
    given = {s.name: params[s.name].default for s in RUN_SCHEMA} | required
    resolved = resolve_config(given)  # optimize's defaults, resolved as optimize resolves them
    assert all(getattr(resolved, s.name) == s.default for s in RUN_SCHEMA if not s.required)


def _members(hint: Any) -> set[Any]:
    """The types a hint accepts: a union's members, else the hint itself."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return set(typing.get_args(hint))
    return {hint}


def test_the_positional_form_still_works_with_a_deprecation_warning(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    args = (str(world_files["task"]), f"pool:{world_files['pool']}", "openai:world")
    with pytest.warns(DeprecationWarning, match="by keyword"):
        result = droiz.optimize(
            *args, out=tmp_path / "run", base_url=world_server.base_url, **SMALL
        )
    assert result.best.finished and world_server.n_requests > 0
    message = "multiple values for argument 'executor'"
    with pytest.raises(TypeError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        droiz.optimize(*args, executor="openai:x", out=tmp_path / "other")


def test_a_run_with_callables_resumes_from_python_and_not_from_the_cli(
    world: InstructionWorld,
    examples: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from droiz.cli import main

    out = tmp_path / "run"
    calls: list[int] = []
    world_llm = make_llm(world, calls)

    def flaky(prompts: list[str]) -> list[str]:
        if len(calls) == 2:
            raise BackendError("the model is down")
        return world_llm(prompts)

    given = {"metric": droiz.callable_metric(reversed_word, name="reversed")}
    down = droiz.callable_executor(flaky, name="world-llm")
    with pytest.raises(BackendError, match="the model is down"):
        droiz.optimize(
            examples, executor=down, generator=world.instructions, out=out, **given, **SMALL
        )
    capsys.readouterr()
    assert main(["resume", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "python:world-llm is a Python object" in err
    assert "resume=True" in err
    before = read_records(out)
    assert before[-1]["type"] == "abort"
    llm = droiz.callable_executor(world_llm, name="world-llm")
    result = droiz.optimize(out=out, resume=True, executor=llm, **given)
    assert result.best.finished and len(read_records(out)) > len(before)
    other = droiz.callable_executor(make_llm(world), name="another-llm")
    with pytest.raises(ConfigError, match="executor: saved 'python:world-llm'"):
        droiz.optimize(out=out, resume=True, executor=other, **given)
    with pytest.raises(ConfigError, match="other examples than it was started with"):
        droiz.optimize(examples[:-1], out=out, resume=True, executor=llm, **given)


def test_out_none_writes_a_fresh_folder_under_droiz_runs(
    world: InstructionWorld,
    examples: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    llm = make_llm(world)
    first = droiz.optimize(examples, executor=llm, generator=world.instructions[:4], **SMALL)
    second = droiz.optimize(examples, executor=llm, generator=world.instructions[:4], **SMALL)
    runs = sorted((tmp_path / "droiz-runs").iterdir())
    assert [r.resolve() for r in runs] == sorted(
        [first.run_dir.resolve(), second.run_dir.resolve()]
    )
    err = capsys.readouterr().err
    assert f"droiz: writing the run to {first.run_dir}" in err
    with pytest.raises(ConfigError, match="resume=True needs out="):
        droiz.optimize(resume=True)


def test_config_may_be_a_run_config_or_a_mapping(
    world: InstructionWorld, examples: list[dict[str, Any]], tmp_path: Path
) -> None:
    llm = make_llm(world)
    base = RunConfig(task=("x.jsonl",), generator="pool:x", executor="openai:x", **SMALL)
    result = droiz.optimize(
        examples, executor=llm, generator=world.instructions, config=base, out=tmp_path / "a"
    )
    assert result.best.budget == 20
    again = droiz.optimize(
        examples,
        executor=llm,
        generator=world.instructions,
        config={**SMALL, "budget": 15},
        budget=12,  # the keyword wins
        out=tmp_path / "b",
    )
    assert again.best.budget == 12


class UpperExecutor(Executor):
    """An executor object of the user's own."""

    name = "upper"

    def __init__(self) -> None:
        from droiz.llm.stats import LLMStats

        self.model, self.stats = "upper", LLMStats()

    @property
    def fingerprint(self) -> str:
        return "python:upper#1"

    def complete(self, requests, on_result=None):  # type: ignore[no-untyped-def]
        from droiz.llm.base import Completion

        out = [Completion(r.input.upper()) for r in requests]
        for i, c in enumerate(out):
            if on_result is not None:
                on_result(i, c)
        return out


def test_an_executor_object_is_used_as_it_is(
    examples: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = droiz.optimize(
        examples,
        executor=UpperExecutor(),
        generator=["Shout.", "Whisper."],
        out=tmp_path / "r",
        **SMALL,
    )
    assert result.best.fingerprints["executor"] == "python:upper#1"
    with pytest.raises(ConfigError, match=r"executor_options .* apply to a executor built from"):
        droiz.optimize(
            examples,
            executor=UpperExecutor(),
            generator=["Shout."],
            executor_options={"temperature": 0.5},
            out=tmp_path / "s",
        )


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"executor": lambda prompts: prompts}, ConfigError, "a lambda as the executor needs a"),
        ({"metric": lambda a, g: 1.0}, ConfigError, "a lambda as the metric needs a name"),
        ({"generator": []}, ConfigError, "the list of candidate instructions is empty"),
        ({"generator": ["ok", 3]}, ConfigError, "candidate instructions must be strings"),
        ({"task": [{"input": "a"}]}, DataError, "task: example 1: field 'output' must be"),
        ({"task": [{"input": "a", "output": "b"}, "c"]}, DataError, "task: example 2: expected"),
        ({"metric": "f2"}, Exception, "unknown metric 'f2'"),
        ({"max_answer_tokens": 5}, ConfigError, "has no answer limit"),
    ],
)
def test_bad_python_inputs_are_refused_in_one_line_before_anything_is_written(
    world: InstructionWorld,
    examples: list[dict[str, Any]],
    tmp_path: Path,
    given: dict,
    error: type,
    message: str,
) -> None:
    args = {"task": examples, "executor": make_llm(world), "generator": ["Reverse the word."]}
    with pytest.raises(error, match=message) as info:
        droiz.optimize(**(args | given), out=tmp_path / "run", **SMALL)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run" / "config.json").exists()


def test_an_executor_that_breaks_its_contract_stops_the_run_in_one_line(
    examples: list[dict[str, Any]], tmp_path: Path
) -> None:
    def half(prompts: list[str]) -> list[str]:
        return prompts[: len(prompts) // 2]

    with pytest.raises(BackendError, match=r"returned .* answers for .* prompts"):
        droiz.optimize(examples, executor=half, generator=["Echo."], out=tmp_path / "r", **SMALL)


def test_a_metric_out_of_range_stops_the_run(
    world: InstructionWorld, examples: list[dict[str, Any]], tmp_path: Path
) -> None:
    def too_much(answer: str, golds: list[str]) -> float:
        return 2.0

    with pytest.raises(DataError, match="needs scores in \\[0, 1\\]"):
        droiz.optimize(
            examples,
            executor=make_llm(world),
            generator=["Reverse the word."],
            metric=too_much,
            out=tmp_path / "r",
            **SMALL,
        )


@pytest.mark.slow
def test_the_docs_first_python_api_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "runner.md").read_text()
    section = docs[docs.index("### 2.10 Python API") :]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/runner.md", "exec"), {"__name__": "docs"})
    out = capsys.readouterr().out
    assert out.startswith("Name the country. ")  # the candidate the toy model answers
    best = json.loads((tmp_path / "runs" / "capitals" / "best.json").read_text())
    assert best["instruction"] == "Name the country." and best["test"]["per_group"]["clean"] == 1.0


def test_dry_run_takes_the_objects_optimize_takes_and_writes_nothing(
    world: InstructionWorld, examples: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Examples, candidates, a callable executor and metric: the plan is the one the run
    announces, nothing is called or written in ``out``; on resume it checks the objects are the
    saved ones and counts the journaled evaluations."""
    calls: list[int] = []
    out = tmp_path / "run"
    inputs = {"executor": make_llm(world, calls), "generator": world.instructions}
    inputs["metric"] = reversed_word
    plan = droiz.runner.dry_run(examples, out=out, **inputs, **SMALL)
    assert calls == [] and not out.exists()
    announced: list[Any] = []
    droiz.optimize(examples, out=out, announce=announced.append, **inputs, **SMALL)
    assert announced == [plan] and plan.evaluations > 0 and plan.test > 0
    assert sum(calls) <= plan.requests
    again = droiz.runner.dry_run(examples, out=out, resume=True, **inputs, **SMALL)
    assert again.remaining == 0 and again.evaluations == 0
    with pytest.raises(ConfigError, match="other examples than it was started with"):
        droiz.runner.dry_run(examples[1:], out=out, resume=True, **inputs, **SMALL)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"executor_options": {"bogus": 1}}, "unknown executor_options option 'bogus'"),
        ({"base_url": "closed"}, "cannot reach the endpoint"),
    ],
)
def test_a_refused_run_leaves_nothing_behind(
    world: InstructionWorld, examples: list[dict[str, Any]], tmp_path: Path, bad, message
) -> None:
    """The examples and candidates are written before the checks that read them; a check that
    refuses the run removes them, and the directory it created."""
    if bad.get("base_url") == "closed":
        bad = {"base_url": closed_port_url()}
    out = tmp_path / "new" / "run"
    with pytest.raises(ConfigError, match=message):
        droiz.optimize(
            examples, executor="openai:m", generator=world.instructions, out=out, **bad, **SMALL
        )
    assert not (tmp_path / "new").exists()
