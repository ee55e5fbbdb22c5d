"""The spend ledger (``budget.jsonl``): a resume after a SIGKILL counts every request the killed
session sent, also those after its last journaled evaluation, so ``--max-requests N`` binds
across kill and resume; a ledger that is missing or damaged is counted at its worst case, or
refused, never trusted."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
from runner_helpers import cli_args, cli_config, droiz_process, measured, read_records

from droiz.cli import main
from droiz.llm.budget import Budget, BudgetExceeded, Limits
from droiz.llm.ledger import LEDGER_NAME, LedgerError, LedgerReading, read_ledger
from droiz.runner.store.usage import spent
from droiz.testing import FakeOpenAIServer

CAP = 150
KILLED_AT = 105  # the 105th answer: in the middle of the sixth evaluation (20 requests each)


def test_the_ledger_counts_unsettled_reservations_at_their_worst_case(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_NAME
    budget = Budget(Limits(max_requests=3), requests=1, tokens=10, cost=0.5)
    budget.open_ledger(path)
    first = budget.reserve(100, 1.0)
    budget.reserve(200, 2.0)  # sent, never settled: its answer is lost with the process
    budget.settle(first, 40, 0.25)
    reading = read_ledger(path)
    assert reading == LedgerReading(3, 10 + 40 + 200, 0.5 + 0.25 + 2.0, session=1)
    resumed = Budget(Limits(max_requests=3), requests=reading.requests)
    with pytest.raises(BudgetExceeded, match="3 requests sent"):
        resumed.reserve(1, 0.0)
    budget.close_ledger()
    assert read_ledger(tmp_path / "none.jsonl") is None
    assert "key" not in path.read_text() and "http" not in path.read_text()  # numbers only
    assert all(json.loads(line)["crc32"] for line in path.read_text().splitlines())


def _damaged(path: Path, data: bytes, match: str) -> None:
    path.write_bytes(data)
    with pytest.raises(LedgerError, match=match) as info:
        read_ledger(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_damaged_last_line_is_refused_and_earlier_damage_is_reported(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_NAME
    budget = Budget(Limits())
    budget.open_ledger(path, session=2)
    budget.reserve(100, 0.0)
    budget.reserve(100, 0.0)
    budget.close_ledger()
    good = path.read_bytes()
    lines = good.splitlines(keepends=True)
    assert read_ledger(path) == LedgerReading(2, 200, 0.0, session=2)
    flipped = lines[-1].replace(b'"requests":2', b'"requests":1')
    _damaged(path, b"".join([*lines[:-1], flipped]), "line 3 does not match its checksum")
    _damaged(path, good[:-20], "line 3 \\(the last\\) is cut short")
    _damaged(path, good + b"\xff\xfe\x00garbage\n", "line 4 is not UTF-8 text")
    _damaged(path, b"", "is empty")
    unsealed = lines[-1][: lines[-1].index(b',"crc32"')] + b"}\n"
    _damaged(path, b"".join([*lines[:-1], unsealed]), "line 3 has lost its checksum")
    path.write_bytes(b"\x00\xff binary\n" + good)  # damage before the last line: reported
    reading = read_ledger(path)
    assert reading is not None and reading.spent == (2, 200, 0.0)
    assert reading.damaged is not None and "line 1 is not UTF-8 text" in reading.damaged
    old = b'{"requests":7,"tokens":10,"cost":0.0,"held_tokens":0,"held_cost":0.0}\n'
    path.write_bytes(old)  # written by a droiz before checksums: read as it is
    assert read_ledger(path) == LedgerReading(7, 10, 0.0)
    budget.open_ledger(path, session=3)  # a torn last line stays alone when appending
    budget.close_ledger()
    path.write_bytes(old + b'{"requests":9,"tok')
    budget.open_ledger(path, session=3)
    budget.close_ledger()
    assert read_ledger(path).session == 3  # type: ignore[union-attr]


def test_runs_list_reads_past_a_ledger_of_binary_garbage(
    world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path, capsys
) -> None:
    from runner_helpers import matern_settings

    import droiz

    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(droiz.runner.CapReached):
        droiz.optimize(out=tmp_path / "runs" / "a", **settings, max_requests=30)
    shutil.copytree(tmp_path / "runs" / "a", tmp_path / "runs" / "b")
    (tmp_path / "runs" / "b" / LEDGER_NAME).write_bytes(bytes(range(256)) * 4)
    assert main(["runs", "list", str(tmp_path / "runs"), "--json"]) == 0
    runs = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert runs["a"]["status"] == runs["b"]["status"] == "stopped at cap"
    assert runs["a"]["requests"] == 30 and "the ledger is damaged" in runs["b"]["detail"]
    code = main(["resume", str(tmp_path / "runs" / "b"), "--max-requests", "20"])
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err and "UnicodeDecodeError" not in err
    assert f"{tmp_path / 'runs' / 'b' / LEDGER_NAME}: line" in err


@pytest.mark.slow
def test_max_requests_binds_across_a_sigkill_between_requests_of_an_evaluation(
    world, world_files, tmp_path: Path, clean_run: Path
) -> None:
    run, config = tmp_path / "run", cli_config(tmp_path / "settings.toml")
    with FakeOpenAIServer(answer=world.answer) as server:
        args = [*cli_args(world_files, server, run, config), "--cache-dir", str(tmp_path / "c")]
        args += ["--concurrency", "1"]  # no request in flight at the kill: the count is exact
        proc = droiz_process(
            [*args, "--max-requests", str(CAP)], DROIZ_TEST_KILL_AT=f"answer:{KILLED_AT}"
        )
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
        assert server.n_requests == KILLED_AT
        records = read_records(run)
        evals = [r for r in records if r["type"] == "eval"]
        journaled = spent({}, evals[-1]["budget"])[0]
        assert 0 < journaled < KILLED_AT, "the kill must come after the last journaled evaluation"
        assert read_ledger(run / LEDGER_NAME).requests == KILLED_AT  # type: ignore[union-attr]
        assert main([*args, "--resume", "--max-requests", str(CAP)]) == 3
        assert server.n_requests == CAP  # over both sessions, not CAP + what the journal missed
        assert read_records(run)[-1]["type"] == "cap"
        assert main([*args, "--resume", "--max-requests", "100000"]) == 0
        assert server.n_requests == int((clean_run / "sent").read_text())  # none paid twice
    assert measured(run) == measured(clean_run)


def _delete(path: Path) -> None:
    path.unlink()


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-40:-30] = b"\x00\xff#garbled"
    path.write_bytes(bytes(data))


def _truncate_mid_line(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncate_at_a_line(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: len(lines) // 3]))


@pytest.mark.slow
@pytest.mark.parametrize("damage", [_delete, _garble, _truncate_mid_line, _truncate_at_a_line])
def test_a_damaged_ledger_never_lets_a_resume_overshoot_the_cap(
    world, world_files, tmp_path: Path, damage, capsys
) -> None:
    run, config = tmp_path / "run", cli_config(tmp_path / "settings.toml")
    cap = "200"
    with FakeOpenAIServer(answer=world.answer) as server:
        args = [*cli_args(world_files, server, run, config), "--cache-dir", str(tmp_path / "c")]
        args += ["--concurrency", "16", "--max-requests", cap]
        proc = droiz_process(args, DROIZ_TEST_KILL_AT="answer:100")
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
        damage(run / LEDGER_NAME)
        code = main([*args, "--resume"])
        assert server.n_requests <= int(cap)
    err = capsys.readouterr().err
    assert code == 3, err
    assert str(run / LEDGER_NAME) in err and "worst case" in err and "Traceback" not in err
    assert read_records(run)[-1]["type"] == "cap"
