"""Run directories written by an earlier droiz still replay, resume and list unchanged.

``data/run-206b5e3/`` was written by droiz at commit ``206b5e3`` (version 0.1.0) with the
synthetic reverse-the-word world of :mod:`droiz.testing.worlds` (then ``droiz.runner.testing``),
from that folder::

    droiz optimize --task reverse.jsonl --generator pool:pool.txt --executor openai:world \
        --base-url URL --config settings.toml --no-progress --out DIR

into three directories (the plot ``best_so_far.png`` and ``run.lock`` left out):

- ``finished/``: the whole run (660 requests to the loopback server);
- ``interrupted/``: the same command SIGKILLed at the 450th answer (``DROIZ_TEST_KILL_AT=
  answer:450``), in the middle of the second round's evaluations;
- ``capped/``: the same command with ``--max-requests 500``, stopped at the cap after the
  verification (``best.json`` with ``"test": null``).

These files are never rewritten: a change that cannot read them breaks every user's saved runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from runner_helpers import read_best, read_records, same_run_result

from droiz.cli import main
from droiz.runner import replay
from droiz.testing import FakeOpenAIServer, InstructionWorld

SAVED = Path(__file__).parent / "data" / "run-206b5e3"
FINISHED_REQUESTS = 660  # what the uninterrupted run sent to the server


@pytest.fixture
def saved_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the saved runs, as the working directory (the runs name their task and
    pool files relative to it)."""
    root = tmp_path / "saved"
    shutil.copytree(SAVED, root)
    monkeypatch.chdir(root)
    return root


def _sent(records: list[dict]) -> int:
    """Requests of the journaled measurements (evaluations, verification, the test split)."""
    sent = sum(r["requests"]["sent"] for r in records if r["type"] in ("eval", "verify"))
    return sent + sum(r["stats"]["requests"] for r in records if r["type"] == "test")


def test_the_saved_finished_run_sent_what_its_docstring_says() -> None:
    assert _sent(read_records(SAVED / "finished")) == FINISHED_REQUESTS


def test_the_saved_finished_run_replays_to_its_best_json(saved_copy: Path) -> None:
    result = replay(saved_copy / "finished")
    saved = read_best(SAVED / "finished")
    assert json.loads(json.dumps(result.best)) == saved


@pytest.mark.parametrize("name", ["interrupted", "capped"])
def test_a_saved_unfinished_run_resumes_to_the_finished_runs_result(
    saved_copy: Path, name: str
) -> None:
    records = read_records(saved_copy / name)
    paid = _sent(records)
    assert 0 < paid < FINISHED_REQUESTS
    with FakeOpenAIServer(answer=InstructionWorld("small").answer) as server:
        code = main(
            [
                "resume",
                name,
                "--base-url",
                server.base_url,
                "--max-requests",
                "10000",
                "--cache-dir",
                str(saved_copy / "cache"),
                "--no-progress",
            ]
        )
        sent_now = server.n_requests
    assert code == 0
    assert same_run_result(read_best(saved_copy / name), read_best(SAVED / "finished"))
    # nothing journaled is paid again: at most what the finished run sent beyond it
    assert sent_now <= FINISHED_REQUESTS - paid
    assert read_records(saved_copy / name)[-1]["type"] == "end"


def test_droiz_runs_list_reads_the_saved_runs(
    saved_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "list", str(saved_copy), "--json"]) == 0
    runs = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert runs["finished"]["status"] == "finished"
    assert runs["capped"]["status"] == "stopped at cap"
    assert runs["interrupted"]["status"] in ("crashed", "aborted")
    assert runs["finished"]["evaluations"] == 30
