"""The README's two commands are the ones CI runs, and the docs name every CLI command."""

from __future__ import annotations

import re
from pathlib import Path

from droiz.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line for b in blocks for line in b.splitlines() if line and not line.startswith("#")]


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    commands = _readme_commands()
    test_cmd = [c for c in commands if "pytest" in c]
    demo_cmd = [c for c in commands if c.endswith("droiz demo")]
    assert len(test_cmd) == 1 and len(demo_cmd) == 1
    assert test_cmd[0] in (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0" in test_cmd[0] and "torch==2.13.0" in demo_cmd[0]
    assert test_cmd[0].index("torch==2.13.0") < test_cmd[0].index("-e '.[test]'")


def test_readme_documents_every_cli_command() -> None:
    text = (ROOT / "README.md").read_text()
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"droiz {name}" in text, f"README does not document `droiz {name}`"
