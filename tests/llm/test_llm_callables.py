"""A plain function as the executor (``droiz.llm.callables``), and the ``python:NAME`` specs."""

from __future__ import annotations

from pathlib import Path

import pytest

import droiz
from droiz.exceptions import BackendError, ConfigError
from droiz.llm import CachedExecutor, ExecRequest, ResponseCache
from droiz.llm.backends import check_executor, check_generator
from droiz.llm.callables import CallableExecutor, callable_name

REQUESTS = [ExecRequest("Reverse the word.", w) for w in ("abc", "de", "abc", "fgh")]


def reverse_all(prompts: list[str]) -> list[str]:
    return [p.rsplit("Input: ", 1)[1].split("\n")[0][::-1] for p in prompts]


def test_a_function_answers_every_request_in_order_and_reports_each_once() -> None:
    calls: list[list[str]] = []

    def fn(prompts: list[str]) -> list[str]:
        calls.append(prompts)
        return reverse_all(prompts)

    executor = droiz.callable_executor(fn, name="reverser")
    seen: list[tuple[int, str]] = []
    out = executor.complete(REQUESTS, lambda i, c: seen.append((i, c.text)))
    assert [c.text for c in out] == ["cba", "ed", "cba", "hgf"]
    assert sorted(seen) == list(enumerate(["cba", "ed", "cba", "hgf"]))
    assert calls == [[r.prompt for r in REQUESTS]] and executor.stats.requests == 4
    assert executor.complete([]) == [] and len(calls) == 1  # an empty batch calls nothing


def test_answers_are_cached_under_the_name(tmp_path: Path) -> None:
    calls: list[int] = []

    def fn(prompts: list[str]) -> list[str]:
        calls.append(len(prompts))
        return reverse_all(prompts)

    with ResponseCache(tmp_path) as cache:
        first = CachedExecutor(CallableExecutor(fn, name="reverser"), cache)
        assert first.execute(REQUESTS) == ["cba", "ed", "cba", "hgf"]
        assert calls == [3]  # the repeated prompt is sent once
        again = CachedExecutor(CallableExecutor(fn, name="reverser"), cache)
        assert again.execute(REQUESTS) == ["cba", "ed", "cba", "hgf"] and calls == [3]
        other = CachedExecutor(CallableExecutor(fn, name="another"), cache)
        other.execute(REQUESTS)
        assert calls == [3, 3]  # another name, another fingerprint: asked again
    assert first.fingerprint != other.fingerprint and "reverser" in first.fingerprint


def test_names_come_from_name_then_the_attribute_then_the_qualified_name() -> None:
    assert callable_name(reverse_all) == f"{__name__}.reverse_all"

    def named(prompts: list[str]) -> list[str]:
        return prompts

    named.name = "mine"  # type: ignore[attr-defined]
    assert callable_name(named) == "mine" and callable_name(named, "given") == "given"
    with pytest.raises(ConfigError, match="a lambda as the executor needs a name"):
        callable_name(lambda prompts: prompts)
    with pytest.raises(ConfigError, match="must be a non-empty string"):
        callable_name(reverse_all, " ")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("one string", "must return a list of answers; it returned a str"),
        (["only one"], "returned 1 answers for 4 prompts"),
        ([1, 2, 3, 4], "must return strings; it returned a int"),
    ],
)
def test_a_function_that_breaks_the_contract_raises_a_backend_error(
    answers: object, message: str
) -> None:
    executor = CallableExecutor(lambda prompts: answers, name="broken")
    with pytest.raises(BackendError, match=message):
        executor.complete(REQUESTS)


@pytest.mark.parametrize(
    ("check", "flag"), [(check_executor, "--executor"), (check_generator, "--generator")]
)
def test_a_python_spec_cannot_be_built_and_says_how_to_pass_the_object(check, flag: str) -> None:
    with pytest.raises(ConfigError, match=rf"{flag} python:my\.thing is a Python object") as info:
        check("python:my.thing", {})
    assert "resume=True" in str(info.value) and "\n" not in str(info.value)
