"""``droiz bench table build`` on the loopback server and the scripted reverse-the-word world: the
table holds every cell (scores agree with ``droiz evaluate``), a second build sends nothing, a
killed build resumes without paying twice, the headroom check's arithmetic, and bad inputs are
refused before any request."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import droiz
from droiz.bench.headroom import headroom_check, headroom_line, picks, split_halves
from droiz.cli import main
from droiz.testing import GROUPS, FakeOpenAIServer, InstructionWorld
from droiz.testing.server import prompt_of

GROUPS_3 = "clean,case,format"


def _jsonl_pool(world: InstructionWorld, path: Path) -> Path:
    """The world's instructions as a ``.jsonl`` pool, the family one-hot as features."""
    families = sorted({world.family(t) or "" for t in world.instructions})
    rows = [
        {"instruction": t, "features": [int(world.family(t) == f) for f in families]}
        for t in world.instructions
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _argv(task: Path, pool: Path, server: FakeOpenAIServer, out: Path, **flags: Any) -> list[str]:
    settings = {
        "--task": str(task),
        "--pool": str(pool),
        "--groups": GROUPS_3,
        "--n-dev": "10",
        "--n-test": "5",
        "--executor": "openai:m",
        "--base-url": server.base_url,
        "--out": str(out),
        "--cache-dir": str(out.parent / "cache"),
    } | {k: str(v) for k, v in flags.items()}
    argv = ["bench", "table", "build"]
    for flag, value in settings.items():
        argv += [flag] if value == "" else [flag, value]
    return argv


@pytest.fixture(scope="module")
def world_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("table-world")
    world = InstructionWorld("small")
    return {
        "world": world,
        "task": world.write_task(root / "reverse.jsonl"),
        "pool": _jsonl_pool(world, root / "pool.jsonl"),
    }


def test_the_table_holds_every_cell_and_a_second_build_sends_nothing(
    world_files: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, task, pool = world_files["world"], world_files["task"], world_files["pool"]
    out = tmp_path / "table.json"
    n_inst = len(world.instructions)
    with FakeOpenAIServer(answer=world.answer) as server:
        assert main(_argv(task, pool, server, out)) == 0
        cells = n_inst * 3 * (10 + 5)
        assert server.n_requests == cells
        assert len({prompt_of(b) for b in server.bodies}) == cells
        first = json.loads(out.read_text())
        assert first["usage"]["requests"] == cells
        assert "headroom check" in capsys.readouterr().out

        assert main(_argv(task, pool, server, out)) == 0
        assert server.n_requests == cells  # every answer came from the cache
        second = json.loads(out.read_text())
        assert second["usage"]["requests"] == 0 and second["splits"] == first["splits"]

        # the scores are droiz evaluate's, example by example, on the same examples
        for split, n in (("dev", 10), ("test", 5)):
            data = first["splits"][split]
            for i in (0, 3, n_inst - 1):
                result = droiz.evaluate(
                    task, world.instructions[i], executor="openai:m", split=split, n=n,
                    groups=GROUPS_3, base_url=server.base_url, cache_dir=out.parent / "cache",
                )  # fmt: skip
                by_id = {(e["group"], e["example_id"]): e["score"] for e in result.examples}
                for group in GROUPS_3.split(","):
                    ids = data["example_ids"][group]
                    assert len(ids) == n and len(data["scores"][group]) == n_inst
                    assert data["scores"][group][i] == [by_id[(group, x)] for x in ids]
        assert server.n_requests == cells

    text = out.read_text()
    assert not any(word in text for word in world.words)  # scores and ids, no task text
    assert first["pool"]["sha256"] == hashlib.sha256(pool.read_bytes()).hexdigest()
    assert first["pool"]["instructions"] == world.instructions
    assert len(first["pool"]["features"]) == n_inst and first["metric"] == "em"
    assert first["droiz_version"] == droiz.__version__ and first["groups"] == GROUPS_3.split(",")
    assert first["command"].startswith("droiz bench table build --task ")
    assert "--n-dev 10 --n-test 5" in first["command"]
    # no machine path: the tmp folder lies outside the working folder, so file names only
    assert str(tmp_path.parent) not in text and first["pool"]["file"] == "pool.jsonl"
    assert "--pool pool.jsonl" in first["command"] and "--out table.json" in first["command"]
    assert first["executor"]["model"] == "m" and first["executor"]["fingerprint"]


def test_the_headroom_check_comes_after_the_dev_pool_and_before_the_test_set(
    world_files: dict[str, Any], tmp_path: Path
) -> None:
    from droiz.bench.table import TableSpec, build_table

    world = world_files["world"]
    events: list[str] = []
    with FakeOpenAIServer(answer=world.answer) as server:
        spec = TableSpec(
            str(world_files["task"]), str(world_files["pool"]), ("clean", "case"), 4, 2,
            "openai:m", base_url=server.base_url, cache_dir=str(tmp_path / "cache"),
        )  # fmt: skip
        table = build_table(
            spec,
            tmp_path / "t.json",
            progress=lambda line: events.append(line.split()[0]),
            on_headroom=lambda check: events.append("headroom"),
        )
    n = len(world.instructions)
    assert events == [f"{world_files['task']}:"] + ["dev"] * n + ["headroom"] + ["test"] * n
    assert table["headroom"]["n_heldout"] == {"clean": 2, "case": 2}
    assert "examples per group: clean 2, case 2)" in headroom_line(table["headroom"])


def test_a_killed_build_resumes_without_paying_twice(
    world_files: dict[str, Any], tmp_path: Path
) -> None:
    world, task, pool = world_files["world"], world_files["task"], world_files["pool"]
    sizes = {"--n-dev": 4, "--n-test": 2, "--concurrency": 1}
    with FakeOpenAIServer(answer=world.answer) as server:
        clean = tmp_path / "clean" / "table.json"
        assert main(_argv(task, pool, server, clean, **sizes)) == 0
        cells = server.n_requests
        server.reset_counts()
        killed = tmp_path / "killed" / "table.json"
        argv = _argv(task, pool, server, killed, **sizes)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        env["DROIZ_TEST_KILL_AT"] = f"answer:{cells // 2}"
        proc = subprocess.run(
            [sys.executable, "-m", "droiz", *argv], env=env, capture_output=True, timeout=300
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        assert not killed.exists()
        assert main(argv) == 0
        sent = server.n_requests
        prompts = [prompt_of(b) for b in server.bodies]
        # concurrency 1: at most the one request in flight at the kill is sent again
        assert cells <= sent <= cells + 1 and len(set(prompts)) == cells
    assert json.loads(killed.read_text())["splits"] == json.loads(clean.read_text())["splits"]


def test_a_build_the_cache_answers_needs_no_server(
    world_files: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, task, pool = world_files["world"], world_files["task"], world_files["pool"]
    sizes = {"--n-dev": 4, "--n-test": 2}
    with FakeOpenAIServer(answer=world.answer) as server:
        first = tmp_path / "first.json"
        dev_only = {"--n-dev": 6, "--n-test": 2, "--headroom-only": ""}
        assert main(_argv(task, pool, server, tmp_path / "dev.json", **dev_only)) == 0
        assert main(_argv(task, pool, server, first, **sizes)) == 0
    capsys.readouterr()
    # the server is gone (its port closed); the cache holds every answer of these builds
    again = tmp_path / "again.json"
    assert main(_argv(task, pool, server, again, **sizes)) == 0
    table = json.loads(again.read_text())
    assert table["usage"]["requests"] == 0
    assert table["splits"] == json.loads(first.read_text())["splits"]
    assert main(_argv(task, pool, server, again, **dev_only)) == 0
    capsys.readouterr()
    # answers missing (two more dev examples; one more test example): refused in one line
    # before any work, nothing written
    for flags in ({"--n-dev": 8, "--headroom-only": ""}, {"--n-dev": 6, "--n-test": 3}):
        out = tmp_path / "missing.json"
        assert main(_argv(task, pool, server, out, **flags)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "cannot reach the endpoint" in err[0], err
        assert not out.exists()


def _quality_world(robust: float, groups: str) -> InstructionWorld:
    """The world with every robust instruction right with probability ``robust`` on every
    group."""
    world = InstructionWorld("small")
    for text in world.instructions:
        if world.family(text) == "robust":
            world.quality[text] = ("robust", (robust,) * len(GROUPS))
    return world


@pytest.mark.parametrize(("robust", "passes"), [(0.6, True), (1.0, False)])
def test_the_headroom_check_passes_and_fails_on_scripted_worlds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], robust: float, passes: bool
) -> None:
    """Groups clean, case, format, distractor: each fragile family is perfect on three and fails
    the fourth, so its mean (about 0.76) beats a robust family right 60 % of the time, whose
    worst group is far higher: headroom. Robust instructions that are always right win on both
    criteria: the same pick, a difference of exactly 0, no headroom."""
    world = _quality_world(robust, ",".join(GROUPS))
    task = world.write_task(tmp_path / "reverse.jsonl")
    pool = world.write_pool(tmp_path / "pool.txt")
    out = tmp_path / "table.json"
    with FakeOpenAIServer(answer=world.answer) as server:
        argv = _argv(task, pool, server, out, **{"--groups": ",".join(GROUPS), "--n-dev": 20})
        assert main([*argv, "--headroom-only"]) == 0
        assert server.n_requests == len(world.instructions) * 4 * 20  # the dev pool only
    assert not out.exists()
    line = next(s for s in capsys.readouterr().out.splitlines() if "headroom check" in s)
    assert (": PASS;" in line) if passes else (": FAIL (" in line)
    families = {world.family(t) for t in world.instructions}
    assert "robust" in families and "fragile_format" in families


def test_the_headroom_arithmetic() -> None:
    ids = [f"x{k}" for k in range(8)]
    # constant columns: every half gives the same accuracies
    fragile = {"a": [1.0] * 8, "b": [0.3] * 8}  # mean 0.65, worst 0.3
    robust = {"a": [0.6] * 8, "b": [0.6] * 8}  # mean 0.6, worst 0.6
    zero = {"a": [0.0] * 8, "b": [0.0] * 8}
    scores = {g: np.array([fragile[g], robust[g], zero[g]]) for g in ("a", "b")}
    check = headroom_check(scores, {"a": ids, "b": ids}, seed=3, n_boot=200)
    assert (check["robust_pick"], check["mean_pick"]) == (1, 0)
    assert check["diff"] == pytest.approx(0.3) and check["ci95"] == pytest.approx([0.3, 0.3])
    assert check["passed"] and check["n_heldout"] == {"a": 4, "b": 4} and check["paired_ids"]
    assert check["in_sample_diff"] == pytest.approx(0.3)

    better = {g: np.array([[0.7] * 8, robust[g], zero[g]]) for g in ("a", "b")}
    check = headroom_check(better, {"a": ids, "b": ids}, n_boot=200)
    assert check["robust_pick"] == check["mean_pick"] == 0
    assert check["diff"] == 0 and check["ci95"] == [0, 0] and not check["passed"]
    assert check["in_sample_diff"] == 0

    # ties on the worst group go to the better mean, ties on the mean to the first in the pool
    tied = {"a": np.array([[0.5] * 4, [0.9] * 4, [0.9] * 4]), "b": np.full((3, 4), 0.5)}
    assert picks(tied) == (1, 1)

    # a noisy held-out half: the interval brackets the difference
    rng = np.random.default_rng(0)
    noisy = {g: (rng.random((4, 8)) < [[0.9], [0.6], [0.5], [0.2]]).astype(float) for g in "ab"}
    check = headroom_check(noisy, {"a": ids, "b": ids}, n_boot=500)
    lo, hi = check["ci95"]
    assert lo <= check["diff"] <= hi


def test_the_headroom_check_on_groups_of_different_examples() -> None:
    """Natural groups (one gold label each) hold different examples: the held-out half of each
    group is resampled on its own, and the halves follow each group's size."""
    ids = {"a": [f"a{k}" for k in range(8)], "b": [f"b{k}" for k in range(6)]}
    leaning = {"a": [1.0] * 8, "b": [0.2] * 6}  # mean 0.6, worst 0.2: the best mean
    balanced = {"a": [0.5] * 8, "b": [0.5] * 6}  # mean 0.5, worst 0.5: the best worst group
    scores = {g: np.array([leaning[g], balanced[g]]) for g in ("a", "b")}
    check = headroom_check(scores, ids, seed=1, n_boot=200)
    assert not check["paired_ids"] and check["n_heldout"] == {"a": 4, "b": 3}
    assert (check["robust_pick"], check["mean_pick"]) == (1, 0)
    assert check["diff"] == pytest.approx(0.3) and check["ci95"] == pytest.approx([0.3, 0.3])
    assert check["passed"]

    rng = np.random.default_rng(1)
    noisy = {g: (rng.random((3, len(ids[g]))) < [[0.9], [0.5], [0.3]]).astype(float) for g in ids}
    check = headroom_check(noisy, ids, n_boot=500)
    lo, hi = check["ci95"]
    assert not check["paired_ids"] and lo <= check["diff"] <= hi


def test_the_halves_are_a_keyed_split_of_the_ids() -> None:
    ids = [f"e{k}" for k in range(9)]
    select, held = split_halves(ids, seed=0)
    assert len(select) == 4 and len(held) == 5 and sorted(select + held) == list(range(9))
    assert split_halves(ids, seed=0) == (select, held)
    assert split_halves(list(reversed(ids)), seed=0)[0] == sorted(8 - k for k in select)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"--n-dev": 1}, "--n-dev must be an integer in [2,"),
        ({"--n-test": 0}, "--n-test must be an integer in [1,"),
        ({"--n-test": 1000}, "test examples; --n-test 1000 asks for more"),
        ({"--groups": "clean,nope"}, "invalid groups"),
        ({"--groups": "clean,clean"}, "names a group twice"),
        ({"--pool": "MISSING"}, "cannot read the instruction pool"),
        ({"--pool": "BADJSONL"}, "line 2: expected a JSON object"),
        ({"--pool": "ONE"}, "needs at least 2 instructions"),
        ({"--out": "table.csv"}, "--out must name a .json file"),
        ({"--executor": "nope:m"}, "unknown executor"),
        ({"--answer-filter": "bogus"}, "bogus"),
        ({"--base-url": "CLOSED"}, "cannot reach the endpoint"),
        ({"--pool": "FIFO"}, "fifo.jsonl': not a regular file"),
        ({"--pool": "BINJSONL"}, "it is not UTF-8 text"),
        ({"--pool": "LONGJSONL"}, "line 2 is 10,014 bytes long"),
        ({"--pool": "DEEPJSONL"}, "line 1 is not JSON"),
        # local inputs are checked before the endpoint is probed
        ({"--n-test": 1000, "--base-url": "CLOSED"}, "--n-test 1000 asks for more"),
        ({"--pool": "ONE", "--base-url": "CLOSED"}, "needs at least 2 instructions"),
    ],
)
def test_bad_inputs_are_refused_before_any_request(
    world_files: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    expected: str,
) -> None:
    world, task = world_files["world"], world_files["task"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "Reverse the word."}\n[1, 2]\n')
    one = tmp_path / "one.txt"
    one.write_text("Reverse the word.\n")
    os.mkfifo(tmp_path / "fifo.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe not utf-8\n")
    long_line = json.dumps({"instruction": "x" * 9_995})
    (tmp_path / "long.jsonl").write_text('{"instruction": "Say it."}\n' + long_line + "\n")
    (tmp_path / "deep.jsonl").write_text("[" * 5000 + "]" * 5000 + "\n")
    with FakeOpenAIServer(answer=world.answer) as server:
        values = {
            "MISSING": str(tmp_path / "missing.txt"),
            "BADJSONL": str(bad),
            "ONE": str(one),
            "table.csv": str(tmp_path / "table.csv"),
            "CLOSED": _closed_url(),
            "FIFO": str(tmp_path / "fifo.jsonl"),
            "BINJSONL": str(tmp_path / "bin.jsonl"),
            "LONGJSONL": str(tmp_path / "long.jsonl"),
            "DEEPJSONL": str(tmp_path / "deep.jsonl"),
        }
        flags = {k: values.get(str(v), v) for k, v in change.items()}
        argv = _argv(task, world_files["pool"], server, tmp_path / "table.json", **flags)
        assert main(argv) == 2
        assert server.n_requests == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err


def _closed_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
