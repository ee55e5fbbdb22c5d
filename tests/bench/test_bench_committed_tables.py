"""The answer tables committed under ``benchmarks/tables/``, as a user replays them: each reads as
``droiz bench table replay`` reads it, is at most 5 MB, names no machine's folders, was built
from the pool file committed beside it (its sha256), holds no input text of the examples it
keys, and its recorded headroom check agrees with the check recomputed from its own scores."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest

from droiz.bench.headroom import headroom_check
from droiz.bench.replay import read_table
from droiz.tasks import load_task

ROOT = Path(__file__).resolve().parents[2]
TABLES = sorted((ROOT / "benchmarks" / "tables").glob("*.json"))


def test_the_tables_are_there() -> None:
    assert len(TABLES) >= 3


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.name)
def test_a_committed_table(path: Path, data_dir: Path) -> None:
    assert path.stat().st_size <= 5 * 2**20
    read_table(path)  # a malformed table raises
    text = path.read_text()
    raw = json.loads(text)

    argv = shlex.split(raw["command"])
    assert argv[:4] == ["droiz", "bench", "table", "build"]
    flag = {a: argv[i + 1] for i, a in enumerate(argv[:-1]) if a.startswith("--")}
    for name in ("--task", "--pool", "--out"):
        assert not Path(flag[name]).is_absolute() and ".." not in Path(flag[name]).parts
    assert flag["--out"] == f"benchmarks/tables/{path.name}"
    assert raw["pool"]["file"] == flag["--pool"]
    pool = (ROOT / flag["--pool"]).read_bytes()
    assert hashlib.sha256(pool).hexdigest() == raw["pool"]["sha256"]

    task = load_task(raw["task"], data_dir, seed=raw["seed"])
    for split in ("dev", "test"):
        keyed = {x for ids in raw["splits"][split]["example_ids"].values() for x in ids}
        inputs = [e.input for e in task.split(split) if e.id in keyed]
        assert len(inputs) == len(keyed)  # every id is one of the task's examples
        assert not [t for t in inputs if len(t) >= 20 and t in text]

    dev = raw["splits"]["dev"]
    check = headroom_check(dev["scores"], dev["example_ids"], seed=raw["seed"])
    assert check["passed"] == raw["headroom"]["passed"]
    assert check["diff"] == pytest.approx(raw["headroom"]["diff"])
