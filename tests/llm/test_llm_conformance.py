"""The executors' conformance suite: the built-in executors and plugin ones through one contract,
and executors that break it are caught."""

from __future__ import annotations

from collections.abc import Sequence

import droiz_executor_plugin  # registers "world" and "gateway"
import pytest

from droiz.exceptions import UnknownNameError
from droiz.llm import (
    EXECUTORS,
    Capabilities,
    Completion,
    ExecRequest,
    OpenAIExecutor,
    register_executor,
)
from droiz.llm.base import OnResult, make_fingerprint
from droiz.testing import EXECUTOR_CHECKS, check_executor
from droiz.testing import executors as conformance


def test_the_builtin_http_executor_passes() -> None:
    check_executor("openai:conformance-model")


def test_the_builtin_local_executor_passes(tiny_model: str) -> None:
    check_executor(f"hf:{tiny_model}", max_new_tokens=3)


@pytest.mark.parametrize("spec", ["world:small", "gateway:conformance-model"])
def test_plugin_executors_pass(spec: str) -> None:
    check_executor(spec)


class _Backwards(droiz_executor_plugin.WorldExecutor):
    """Returns the answers of a batch in reverse order."""

    def complete(
        self, requests: Sequence[ExecRequest], on_result: OnResult | None = None
    ) -> list[Completion]:
        return super().complete(requests, on_result)[::-1]


class _Forgetful(droiz_executor_plugin.WorldExecutor):
    """Leaves its answer length out of the fingerprint (a shorter limit would reuse answers)."""

    @property
    def fingerprint(self) -> str:
        return make_fingerprint("world", self.model, {})


class _NoBudget(OpenAIExecutor):
    """Declares HTTP but cannot take the run's caps."""

    capabilities = Capabilities(http=True, priced=True)

    def __init__(self, model: str, *, base_url: str | None = None, max_tokens: int = 9) -> None:
        super().__init__(model, base_url=base_url, max_tokens=max_tokens)


class _Uncapped(OpenAIExecutor):
    """Takes a budget but ignores it."""

    def __init__(self, model: str, **options: object) -> None:
        options.pop("budget", None)
        super().__init__(model, **options)  # type: ignore[arg-type]


BROKEN = {
    "conformance-backwards": _Backwards,
    "conformance-forgetful": _Forgetful,
    "conformance-nobudget": _NoBudget,
    "conformance-uncapped": _Uncapped,
}


@pytest.mark.parametrize(
    ("spec", "check", "message"),
    [
        ("conformance-backwards:small", "check_answers", "on_result got another answer"),
        ("conformance-forgetful:small", "check_fingerprint", "answer-length limit must be part"),
        ("conformance-nobudget:m", "check_declaration", "lacks what its capabilities promise"),
        ("conformance-uncapped:m", "check_caps", "did not raise BudgetExceeded"),
    ],
)
def test_the_suite_catches_a_broken_executor(spec: str, check: str, message: str) -> None:
    with EXECUTORS.scoped():
        for name, cls in BROKEN.items():
            register_executor(name)(cls)
        with pytest.raises(AssertionError, match=message):
            getattr(conformance, check)(spec)
    assert spec.split(":")[0] not in EXECUTORS


def test_check_executor_runs_every_check_and_names_a_bad_spec() -> None:
    names = [c.__name__ for c in EXECUTOR_CHECKS]
    assert names == [
        "check_declaration",
        "check_answers",
        "check_fingerprint",
        "check_caching",
        "check_usage",
        "check_caps",
        "check_errors",
    ]
    with pytest.raises(UnknownNameError, match="unknown executor 'nope'"):
        check_executor("nope:x")
