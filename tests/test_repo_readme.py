"""The README's two commands are the ones CI runs, the docs name every CLI command, every flag
the docs give a ``droiz`` command exists, and the README's Python example runs as written."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

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


def _doc_commands(text: str) -> list[list[str]]:
    """The ``droiz ...`` commands of a Markdown text, as argument lists: from code blocks
    (continuation lines joined, chained commands split, comments and text after two spaces
    dropped) and from inline code."""
    lines = re.findall(r"`(droiz [^`]+)`", text)
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in re.sub(r"\s*\\\n\s*", " ", block).splitlines():
            lines.append(re.split(r"\s{2,}", line.strip().removeprefix("$ "))[0])
    commands = []
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # an unclosed quote: prose, not a command
            continue
        current: list[str] = []
        for token in [*tokens, ";"]:
            if token in ("&&", "||", "|", ";", "&", ">", "2>", "<"):
                if current[:1] == ["droiz"]:
                    commands.append(current[1:])
                current = []
            else:
                current.append(token)
    return commands


def _command_options(argv: list[str]) -> tuple[list[str], set[str]]:
    """The subcommand path of ``argv`` (after ``droiz``) and the options its parser knows."""
    parser, path = build_parser(), []
    for token in argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or token not in subs[0].choices:
            break
        parser, path = subs[0].choices[token], [*path, token]
    return path, {s for a in parser._actions for s in a.option_strings}


def test_every_flag_the_docs_give_a_command_exists() -> None:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    files += sorted((ROOT / "benchmarks").glob("**/*.md"))
    unknown, checked = [], 0
    for path in files:
        for argv in _doc_commands(path.read_text()):
            if not argv or argv[0].endswith(":"):
                continue  # droiz's output ("droiz optimize: error: ..."), not a command
            sub, options = _command_options(argv)
            for token in argv:
                flag = token.split("=")[0]
                if flag.startswith("--") and len(flag) > 2:
                    checked += 1
                    if flag not in options:
                        unknown.append(f"{path.relative_to(ROOT)}: droiz {' '.join(sub)} {flag}")
    assert checked > 300  # the docs give that many flags; fewer means the parsing broke
    assert not unknown, unknown


def test_the_docs_python_examples_name_what_droiz_has() -> None:
    # Every ```python block of README and docs/: it parses, its droiz imports resolve, and its
    # calls of droiz's top-level functions use keywords those functions take.
    import ast
    import importlib.util
    import inspect

    import droiz

    problems, calls = [], 0
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S):
            where = path.relative_to(ROOT)
            for node in ast.walk(ast.parse(block)):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("droiz"):
                    module = importlib.import_module(str(node.module))
                    problems += [
                        f"{where}: {node.module}.{a.name}"
                        for a in node.names
                        if not hasattr(module, a.name)
                        and importlib.util.find_spec(f"{node.module}.{a.name}") is None
                    ]
                elif isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name.startswith("droiz"):
                            importlib.import_module(a.name)
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "droiz"
                ):
                    params = inspect.signature(getattr(droiz, node.func.attr)).parameters
                    calls += 1
                    problems += [
                        f"{where}: droiz.{node.func.attr}({k.arg}=...)"
                        for k in node.keywords
                        if k.arg is not None and k.arg not in params
                    ]
    assert calls >= 5  # the docs call droiz.optimize/evaluate that often; fewer: parsing broke
    assert not problems, problems


def _readme_python_example() -> str:
    """The README's Python example of ``droiz.optimize`` on examples in memory."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return next(b for b in blocks if "droiz.optimize(examples" in b)


def test_the_readme_python_example_is_ten_lines_with_a_callable_and_examples() -> None:
    code = _readme_python_example()
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    assert "def my_llm(prompts: list[str]) -> list[str]" in code and "executor=my_llm" in code
    assert "examples = [{" in code and "open(" not in code


@pytest.mark.slow
def test_the_readme_python_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DROIZ_CACHE_DIR", str(tmp_path / "cache"))
    exec(compile(_readme_python_example(), "README.md", "exec"), {"__name__": "readme"})
    out, err = capsys.readouterr()
    instruction, rest = out.split(". ", 1)
    assert instruction == "Write the word backwards"
    assert rest.split(" ", 1)[1].strip() == str(
        {"clean": 1.0, "case": 1.0, "format": 0.0, "distractor": 1.0}
    )
    runs = list((tmp_path / "droiz-runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "best.json").is_file()
    assert f"droiz: writing the run to {runs[0].relative_to(tmp_path)}" in err
