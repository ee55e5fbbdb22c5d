"""The group rule is a run setting (``--group-rule``, ``group_rule``) mapped to the engine's
``group_selection``; a run saved before it existed resumes with the rule it started with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from runner_helpers import read_best, read_records, same_run_result

from droiz.cli import main
from droiz.exceptions import ConfigError
from droiz.runner.loop.engine_io import engine_config
from droiz.runner.problem import Problem
from droiz.runner.settings.config import RunConfig
from droiz.testing import FakeOpenAIServer, InstructionWorld

SAVED = Path(__file__).parent / "data" / "run-206b5e3"


def _config(world_files: dict, **extra: object) -> RunConfig:
    base = {
        "task": str(world_files["task"]),
        "generator": f"pool:{world_files['pool']}",
        "executor": "openai:world",
    }
    return RunConfig(**{**base, **extra})  # type: ignore[arg-type]


def test_the_group_rule_setting_is_the_engines_group_selection(world_files: dict) -> None:
    default = _config(world_files)
    assert default.group_rule == "reference"
    assert engine_config(default, Problem(default)).group_selection == "reference"
    rule = _config(world_files, group_rule="adversarial")
    assert engine_config(rule, Problem(rule)).group_selection == "adversarial"
    # the older spelling in the engine table still works, and wins when no rule is given
    old = _config(world_files, engine={"group_selection": "adversarial"})
    assert engine_config(old, Problem(old)).group_selection == "adversarial"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"group_rule": "auto"}, "unknown --group-rule value 'auto'"),
        ({"group_rule": "lcb"}, "unknown --group-rule value 'lcb'"),
        (
            {"group_rule": "adversarial", "engine": {"group_selection": "reference"}},
            "engine.group_selection 'reference' and group_rule 'adversarial' disagree",
        ),
    ],
)
def test_a_bad_group_rule_is_refused_in_one_line(
    world_files: dict, extra: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        _config(world_files, **extra)
    assert "\n" not in str(info.value)


def test_the_optimize_flag_sets_the_rule(
    world_files: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["optimize", "--task", str(world_files["task"]), "--generator", "pool:x.txt",
         "--executor", "openai:world", "--group-rule", "sideways", "--out", str(tmp_path / "r")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--group-rule value 'sideways'" in err and "Traceback" not in err
    assert "{reference,adversarial}" in _help(capsys)


def _help(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["optimize", "--help"]) == 0
    return capsys.readouterr().out


def test_a_run_saved_before_the_rule_resumes_with_its_saved_rule_before_any_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The saved ``interrupted`` run (droiz 0.1.0, ``group_selection="auto"``: adversarial for
    ``dro``) cut inside its initial design, with no engine snapshot at all: the resumed run uses
    the saved rule, so it reaches the finished run's result exactly."""
    root = tmp_path / "saved"
    shutil.copytree(SAVED, root)
    monkeypatch.chdir(root)
    run = root / "interrupted"
    lines = (run / "journal.jsonl").read_text().splitlines(keepends=True)
    assert [json.loads(line)["type"] for line in lines[:7]] == ["start", "ask"] + ["eval"] * 5
    (run / "journal.jsonl").write_text("".join(lines[:7]))  # inside round 1 of the design
    (run / "engine-state.json").unlink()
    settings = json.loads((run / "config.json").read_text())["settings"]
    assert "group_rule" not in settings and "group_selection" not in settings["engine"]
    with FakeOpenAIServer(answer=InstructionWorld("small").answer) as server:
        code = main(
            ["resume", "interrupted", "--base-url", server.base_url, "--max-requests", "10000",
             "--cache-dir", str(root / "cache"), "--no-progress"]
        )  # fmt: skip
    assert code == 0
    state = json.loads((run / "engine-state.json").read_text())
    assert state["engine"]["config"]["group_selection"] == "auto"
    tells = [r for r in read_records(run) if r["type"] == "tell"]
    assert all(t["engine"]["config"]["group_selection"] == "auto" for t in tells)
    assert same_run_result(read_best(run), read_best(SAVED / "finished"))
    assert "| group rule | `adversarial (saved as auto)` |" in (run / "report.md").read_text()
