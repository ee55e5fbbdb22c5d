"""Users' own tasks from JSONL and CSV files, through the Python API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from droiz.exceptions import DataError, UnknownNameError
from droiz.tasks import load_task, score


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def capital_rows(n: int = 12, groups: bool = True) -> list[dict]:
    rows = []
    for i in range(n):
        row = {"input": f"Country number {i}", "output": [f"capital {i}", f"city {i}"]}
        if groups:
            row["group"] = "europe" if i % 2 else "asia"
        rows.append(row)
    return rows


def test_jsonl_task_with_groups(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "capitals.jsonl", capital_rows())
    task = load_task(path, metric="em", seed=3)
    assert (task.name, task.source, task.metric, task.seed) == ("capitals", "custom", "em", 3)
    assert task.sizes == {"induce": 3, "dev": 3, "test": 6}
    assert task.groups == task.natural_groups == ("asia", "europe")
    example = task.test[0]
    assert example.id.startswith("line-") and example.answers[1].startswith("city")
    data = task.dataset("dev")
    assert set(data.labels) <= {"asia", "europe"} and len(data) == 3
    assert score(task.metric, "City 4.", ["capital 4", "city 4"]) == 1.0
    shifted = task.dataset("test", groups=["clean", "case", "format"])
    assert len(shifted) == 18


def test_jsonl_without_groups_uses_shift_groups(tmp_path: Path) -> None:
    rows = capital_rows(groups=False)
    rows[0]["split"] = "test"
    rows[1]["split"] = "test"
    rows[2]["id"] = "my-id"
    task = load_task(str(write_jsonl(tmp_path / "t.jsonl", rows)), metric="f1")
    assert task.groups == ("clean", "case", "format", "distractor")
    assert [e.id for e in task.test] == ["line-1", "line-2"]
    assert any(e.id == "my-id" for e in (*task.induce, *task.dev))
    assert "spacing" in task.valid_groups


def test_csv_task_with_several_outputs(tmp_path: Path) -> None:
    lines = ["input,output,output_2,group"]
    lines += [f'"word {i}, with comma",gold {i},,g{i % 3}' for i in range(9)]
    lines.append('"two\nlines",first,second,g0')
    path = tmp_path / "words.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = load_task(path)
    everything = {e.input: e for e in (*task.induce, *task.dev, *task.test)}
    assert everything["two\nlines"].answers == ("first", "second")
    assert everything["word 0, with comma"].answers == ("gold 0",)
    assert task.natural_groups == ("g0", "g1", "g2") and task.metric == "em"


def test_cli_shows_a_custom_task(tmp_path: Path, cli: Callable) -> None:
    path = write_jsonl(tmp_path / "capitals.jsonl", capital_rows())
    code, out, err = cli("tasks", "show", path, "--metric", "contains", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["metric"] == "contains" and info["groups"] == ["asia", "europe"]
    assert info["natural_counts"] == {"asia": 3, "europe": 3}
    assert all(row["id"].startswith("line-") for row in info["examples"]["asia"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"input": "a", "output": "b"}\n{"input": "a"\n', "line 2: malformed JSON"),
        ('{"input": "a"}\n', "line 1: field 'output'"),
        ('{"input": "", "output": "x"}\n', "field 'input' must be a non-empty string"),
        ('{"input": "a", "output": []}\n', "field 'output'"),
        ('["a", "b"]\n', "expected a JSON object"),
        ("", "no examples (empty split)"),
        ('{"input": "a", "output": "b"}\n{"input": "c", "output": "d"}\n', "is empty"),
        ('{"input": "a", "output": "b", "split": "train"}\n', "'split' must be"),
        ('{"input": "a", "output": "b", "id": 1}\n{"input": "c", "output": "d", "id": 1}\n',
         "duplicate id '1'"),
    ],
)  # fmt: skip
def test_bad_task_files_get_one_line_errors(
    tmp_path: Path, cli: Callable, content: str, problem: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl"):
        load_task(path)
    code, out, err = cli("tasks", "show", path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and problem in err


def test_bad_csv_and_metric(tmp_path: Path, cli: Callable) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("input,output\na,b,c\n", encoding="utf-8")
    code, _, err = cli("tasks", "show", path)
    assert code == 2 and "row 2: 3 cells for 2 header columns" in err
    good = write_jsonl(tmp_path / "ok.jsonl", capital_rows())
    with pytest.raises(UnknownNameError, match="did you mean 'contains'"):
        load_task(good, metric="contain")
    code, _, err = cli("tasks", "show", tmp_path / "missing.jsonl")
    assert code == 2 and "missing.jsonl: task file not found" in err
