"""``droiz tasks list`` / ``droiz tasks show`` and their errors on bad data."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from droiz.tasks import BENCHMARK_TASKS
from droiz.tasks import datadir as datadir_module

TABLE = Path(__file__).resolve().parents[3] / "shared" / "docs" / "task_table.json"
REMOVED = {"sentence_similarity": 1, "auto_debugging": 1, "periodic_elements": 2}


def test_list_matches_the_task_table(data_dir: Path, cli: Callable) -> None:
    code, out, err = cli("tasks", "list", "--data-dir", data_dir, "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert len(rows) == 55 and sum(r["benchmark"] for r in rows.values()) == 32
    assert sum(n.startswith("bbii/") for n in rows) == 22
    for ref in json.loads(TABLE.read_text()):
        row = rows[ref["task"]]
        n_test = ref["n_execute"] - REMOVED.get(ref["task"], 0) or min(ref["n_induce"] // 2, 100)
        pool = ref["n_induce"] - (0 if ref["n_execute"] else n_test)
        assert (row["induce"], row["dev"], row["test"]) == (
            min(pool // 2, 100),
            pool - min(pool // 2, 100),
            n_test,
        ), ref["task"]
        assert row["metric"] == ref["metric"]
        assert row["groups"][0] == "clean" and len(row["groups"]) >= 4


def test_list_prints_a_table(data_dir: Path, cli: Callable) -> None:
    code, out, _ = cli("tasks", "list", "--data-dir", data_dir)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["task", "source", "induce", "dev", "test", "metric", "groups"]
    assert len(lines) == 1 + 55 + 1
    sum_row = next(line for line in lines if line.startswith("sum*"))
    assert sum_row.split() == ["sum*", "II-24", "100", "4850", "100", "em",
                               "clean,format,distractor,spacing"]  # fmt: skip
    assert sum(line.split()[0].endswith("*") for line in lines[1:-1]) == len(BENCHMARK_TASKS)


def test_show_prints_groups_shares_and_examples(data_dir: Path, cli: Callable) -> None:
    code, out, _ = cli("tasks", "show", "word_sorting", "--data-dir", data_dir, "-n", "1")
    assert code == 0
    assert "groups: clean, case, typo, format, distractor, order" in out
    assert "share of test examples each group changes: clean 0.00  case 1.00" in out
    assert out.count("\n[") == 6 and "template F" in out
    code, out, _ = cli("tasks", "show", "orthography_starts_with", "--data-dir", data_dir,
                       "--json", "--split", "dev", "-n", "3")  # fmt: skip
    info = json.loads(out)
    assert info["split"] == "dev" and info["dev"] == 2900
    assert all(len(rows) == 3 for rows in info["examples"].values())
    assert set(info["changed"]) == set(info["groups"]) and info["changed"]["typo"] > 0.9
    assert info["natural_groups"] == ["in_domain", "out_of_domain"]


def test_show_unknown_task_and_usage(data_dir: Path, cli: Callable) -> None:
    code, out, err = cli("tasks", "show", "sumx", "--data-dir", data_dir)
    assert code == 2 and out == ""
    assert err.startswith("droiz tasks: error: unknown task 'sumx'; did you mean 'sum'?")
    assert err.count("\n") == 1
    code, _, err = cli("tasks")
    assert code == 2 and "list" in err and "show" in err


def test_missing_data_dir(cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DROIZ_DATA_DIR", raising=False)
    monkeypatch.setattr(datadir_module, "default_download_dir", lambda: tmp_path / "none")
    code, _, err = cli("tasks", "list")
    assert code == 2 and "DROIZ_DATA_DIR" in err and "droiz data download" in err
    code, _, err = cli("tasks", "show", "sum", "--data-dir", tmp_path / "nope")
    assert code == 2 and "nope (from --data-dir) does not exist" in err


def fake_data(tmp_path: Path, data_dir: Path, name: str = "sum") -> Path:
    """A data directory holding a copy of one instruction-induction task."""
    for split in ("induce", "execute"):
        target = tmp_path / "instruction-induction" / "raw" / split / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / "instruction-induction" / "raw" / split / f"{name}.json", target)
    return tmp_path


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("delete", "execute/sum.json: task file not found"),
        ("truncate", "execute/sum.json: malformed JSON"),
        ("empty", "execute/sum.json: the file has no examples (empty split)"),
        ("mismatch", "execute/sum.json: example '2': field 'output' must be a string or a non-"),
        ("wrong-type", "execute/sum.json: example '3': field 'input' must be a string, got int"),
        ("not-mapping", "execute/sum.json: expected a JSON object with an 'examples' mapping"),
    ],
)
def test_bad_builtin_data(
    tmp_path: Path, data_dir: Path, cli: Callable, damage: str, problem: str
) -> None:
    root = fake_data(tmp_path, data_dir)
    path = root / "instruction-induction/raw/execute/sum.json"
    data = json.loads(path.read_text())
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_text(path.read_text()[:500])
    else:
        if damage == "empty":
            data["examples"] = {}
        elif damage == "mismatch":
            del data["examples"]["2"]["output"]
        elif damage == "wrong-type":
            data["examples"]["3"]["input"] = 7
        else:
            data["examples"] = list(data["examples"].values())
        path.write_text(json.dumps(data))
    code, out, err = cli("tasks", "show", "sum", "--data-dir", root)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert problem in err and str(root) in err
