"""One settings schema: RunConfig, the CLI flags, droiz.evaluate's defaults, the resume rules and
the tables of docs/runner.md all come from it (or are checked against it here)."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import droiz
from droiz.cli import build_parser
from droiz.exceptions import ConfigError
from droiz.runner import RunConfig
from droiz.runner.settings.config import RESUMABLE, RUN_SCHEMA, SCHEMA, settings_for
from droiz.runner.settings.docs import settings_table, tables
from droiz.runner.settings.schema import COMMANDS, EVALUATE, Count, Limit, Setting

DOCS = Path(__file__).resolve().parents[2] / "docs" / "runner.md"
BASE = {"task": "a", "generator": "pool:p", "executor": "openai:m"}


@pytest.mark.parametrize("command", ["optimize", "evaluate"])
def test_the_docs_tables_are_the_schemas(command: str) -> None:
    written = tables(DOCS.read_text(encoding="utf-8"))
    assert written[command] == settings_table(command), (
        "docs/runner.md is out of date: python -m droiz.runner.settings.docs docs/runner.md"
    )


def test_every_runconfig_field_is_a_declared_setting_and_names_are_unique() -> None:
    assert [s.name for s in RUN_SCHEMA] == [f.name for f in dataclasses.fields(RunConfig)]
    for command in COMMANDS:
        names = [s.name for s in SCHEMA if command in s.commands]
        assert len(names) == len(set(names)), command
    defaults = RunConfig(**BASE)
    for s in RUN_SCHEMA:
        if not s.required:
            assert getattr(defaults, s.name) == s.default, s.name


def test_the_resumable_settings_are_the_declared_ones() -> None:
    declared = {s.name for s in RUN_SCHEMA if s.resumable}
    assert set(RESUMABLE) == declared
    assert {"base_url", "cache_dir", "max_requests", "track"} <= declared
    assert not {"budget", "seed", "method", "kernel", "task"} & declared
    config = RunConfig(**BASE)
    changed = {name: "x" if name == "cache_namespace" else None for name in RESUMABLE}
    changed |= {"concurrency": 3, "max_cost": 1.0, "budget": 10}
    assert config.explicit_diff(changed) == ["budget"]


def _flags(parser: argparse.ArgumentParser, command: str) -> dict[str, argparse.Action]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices[command]._actions}


@pytest.mark.parametrize("command", ["optimize", "resume", "evaluate"])
def test_each_flag_is_a_setting_whose_help_shows_its_default(command: str) -> None:
    actions = _flags(build_parser(), command)
    for s in settings_for(command).values():
        if not s.flags:
            assert s.name not in actions, s.name
            continue
        action = actions[s.name]
        assert list(action.option_strings) == list(s.flags)
        assert action.help is not None and action.help.endswith(f"{s.default_text})"), s.name
        assert action.default is None or s.required  # not given: the config or the saved run
    if command != EVALUATE:  # the default the run uses is the one the help states
        assert RunConfig(**BASE).kernel == "coupled-semantic"
        assert str(actions["kernel"].help).endswith("(default: coupled-semantic)")


def test_droiz_evaluate_defaults_are_the_schemas() -> None:
    params = inspect.signature(droiz.evaluate).parameters
    schema = settings_for(EVALUATE)
    assert set(schema) <= set(params)
    for name, s in schema.items():
        if s.required or s.default in (None, {}):
            assert params[name].default in (inspect.Parameter.empty, None), name
        else:
            assert params[name].default == s.default, name


def test_evaluate_and_optimize_refuse_a_value_with_the_same_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as run:
        RunConfig(**BASE, concurrency=5000)
    with pytest.raises(ConfigError) as one:
        droiz.evaluate("antonyms", "x", executor="openai:m", concurrency=5000)
    assert (
        str(run.value)
        == str(one.value)
        == ("concurrency must be an integer in [1, 4096], got 5000")
    )


def test_a_bound_names_itself_and_the_flag_that_lifts_it() -> None:
    s = Setting("workers", int, 2, "cells run at once", flags=("--workers",))
    limit = Limit(64, "allow_many_workers", "workers")
    limit(s, 64, {})
    limit(s, 65, {"allow_many_workers": True})
    with pytest.raises(ConfigError, match=r"^--workers 65 is more than 64 workers; pass "):
        limit(s, 65, {})
    with pytest.raises(ConfigError, match=r"--allow-many-workers if you really mean it$"):
        limit(s, 65, {"allow_many_workers": False})
    with pytest.raises(ConfigError, match=r"workers must be an integer >= 0, got -1"):
        Count(0)(s, -1, {})


def test_the_cli_reads_the_schema_without_torch_and_droiz_runner_exports_lazily() -> None:
    code = (
        "import sys; import droiz.cli; droiz.cli.build_parser(); "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "import droiz.runner as r; [getattr(r, name) for name in r.__all__]; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
