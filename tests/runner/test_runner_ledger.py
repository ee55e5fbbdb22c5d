"""The spend ledger (``budget.jsonl``): a resume after a SIGKILL counts every request the killed
session sent, also those after its last journaled evaluation, so ``--max-requests N`` binds
across kill and resume."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from runner_helpers import cli_args, cli_config, droiz_process, measured, read_records

from droiz.cli import main
from droiz.llm.budget import Budget, BudgetExceeded, Limits
from droiz.llm.ledger import LEDGER_NAME, read_ledger
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
    assert read_ledger(path) == (3, 10 + 40 + 200, 0.5 + 0.25 + 2.0)
    with path.open("a") as f:
        f.write('{"requests":9,"tok')  # a torn last line is skipped
    assert read_ledger(path) == (3, 250, 2.75)
    resumed = Budget(Limits(max_requests=3), requests=read_ledger(path)[0])
    with pytest.raises(BudgetExceeded, match="3 requests sent"):
        resumed.reserve(1, 0.0)
    budget.close_ledger()
    assert read_ledger(tmp_path / "none.jsonl") is None
    assert "key" not in path.read_text() and "http" not in path.read_text()  # numbers only


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
        assert read_ledger(run / LEDGER_NAME)[0] == KILLED_AT
        assert main([*args, "--resume", "--max-requests", str(CAP)]) == 3
        assert server.n_requests == CAP  # over both sessions, not CAP + what the journal missed
        assert read_records(run)[-1]["type"] == "cap"
        assert main([*args, "--resume", "--max-requests", "100000"]) == 0
        assert server.n_requests == int((clean_run / "sent").read_text())  # none paid twice
    assert measured(run) == measured(clean_run)
