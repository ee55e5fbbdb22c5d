"""``droiz runs list`` (status, budget used, requests, cost, best robust value of each run) and
``droiz report DIR`` (report.md and the plot again, from the run directory alone)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest
from runner_helpers import matern_settings, read_best

import droiz
from droiz.cli import main
from droiz.runner import CapReached
from droiz.runner.store.journal import journal_line
from droiz.runner.store.records import Abort
from droiz.runner.store.runs import list_runs, run_info


def _copy(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest)
    return dest


def _cut_after_evals(run: Path, n: int) -> None:
    """Keep the journal up to its ``n``-th eval record: a session killed there."""
    lines = (run / "journal.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    kept, evals = [], 0
    for line in lines:
        kept.append(line)
        evals += json.loads(line)["type"] == "eval"
        if evals == n:
            break
    (run / "journal.jsonl").write_text("".join(kept), encoding="utf-8")


def test_runs_list_tells_every_status(
    clean_run: Path, world_files, world_server, tmp_path: Path, capsys
) -> None:
    root = tmp_path / "runs"
    finished = _copy(clean_run, root / "a-finished")
    crashed = _copy(clean_run, root / "b-crashed")
    _cut_after_evals(crashed, 5)
    aborted = _copy(crashed, root / "c-aborted")
    with (aborted / "journal.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(journal_line(Abort(1, "interrupted (SIGINT)")) + "\n")
    with (crashed / "journal.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"type": "eval", "rou')  # killed in the middle of a write
    capped = root / "d-capped"
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(CapReached):
        droiz.optimize(out=capped, **settings, max_requests=50)
    running = _copy(crashed, root / "e-running")
    broken = root / "f-broken"
    broken.mkdir()
    (broken / "journal.jsonl").write_text("not json\n{}\n")
    (root / "not-a-run").mkdir()
    early = root / "g-early"  # killed before its first journal record
    early.mkdir()
    shutil.copy(clean_run / "config.json", early / "config.json")

    fd = os.open(running / "run.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a live droiz process holds it
    try:
        infos = {info.path.name: info for info in list_runs(root)}
    finally:
        os.close(fd)
    assert sorted(infos) == [
        "a-finished",
        "b-crashed",
        "c-aborted",
        "d-capped",
        "e-running",
        "f-broken",
        "g-early",
    ]
    status = {name: info.status for name, info in infos.items()}
    assert status == {
        "a-finished": "finished",
        "b-crashed": "crashed",
        "c-aborted": "aborted",
        "d-capped": "stopped at cap",
        "e-running": "running",
        "f-broken": "unreadable",
        "g-early": "crashed",
    }
    done = infos["a-finished"]
    assert (done.evaluations, done.budget) == (30, 30)
    assert done.requests == int((clean_run / "sent").read_text())  # what the server saw
    assert done.best == read_best(clean_run)["robust_value"] and done.cost == 0.0
    assert infos["b-crashed"].evaluations == 5 and infos["b-crashed"].best is None
    assert infos["b-crashed"].detail == "a torn last line (21 bytes) is dropped"
    assert infos["c-aborted"].detail == "interrupted (SIGINT)"
    assert (infos["g-early"].evaluations, infos["g-early"].budget) == (0, 30)
    cap = infos["d-capped"]
    assert cap.requests == 50 and "--max-requests cap of 50" in cap.detail
    assert "line 1 is not valid JSON" in infos["f-broken"].detail
    assert run_info(running).status == "crashed"  # the lock was released with its holder

    assert main(["runs", "list", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["run", "status"] and len(lines) == 8
    assert "finished" in lines[1] and "30/30" in lines[1] and f"{done.best:.4f}" in lines[1]
    assert main(["runs", "list", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["status"] for d in data][:2] == ["finished", "crashed"]
    assert data[0]["path"] == str(finished) and data[3]["requests"] == 50


def test_runs_list_of_a_run_directory_or_nothing(clean_run: Path, tmp_path: Path, capsys):
    assert main(["runs", "list", str(clean_run), "--json"]) == 0
    assert [d["status"] for d in json.loads(capsys.readouterr().out)] == ["finished"]
    assert main(["runs", "list", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"no droiz runs under {tmp_path}"
    assert main(["runs", "list", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a directory" in err


def test_report_regenerates_report_and_plot_from_the_run_directory(
    clean_run: Path, tmp_path: Path, capsys
) -> None:
    run = _copy(clean_run, tmp_path / "run")
    best = (run / "best.json").read_bytes()
    (run / "report.md").unlink()
    (run / "best_so_far.png").unlink()
    assert main(["report", str(run)]) == 0  # no server is running: nothing can be sent
    assert capsys.readouterr().out.split() == [
        "wrote",
        str(run / "report.md"),
        "wrote",
        str(run / "best_so_far.png"),
    ]
    assert (run / "report.md").read_text() == (clean_run / "report.md").read_text()
    assert (run / "best_so_far.png").stat().st_size > 1000
    assert (run / "best.json").read_bytes() == best


def test_report_of_an_unfinished_run_is_refused_in_one_line(
    clean_run: Path, tmp_path: Path, capsys
) -> None:
    run = _copy(clean_run, tmp_path / "run")
    _cut_after_evals(run, 5)
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "has not finished" in err and "--resume" in err
