"""The journal: typed records, append-only, fsync'd, strict JSON, each line sealed with its
checksum, tolerant of a torn last line, versioned; ``tests/runner/data/golden-journal-v2.jsonl``
pins the format, ``golden-journal.jsonl`` the format 1 (no checksums) that is still read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from droiz.checksum import seal
from droiz.runner import Journal, JournalError, read_journal
from droiz.runner.store.journal import dump_record, journal_line, load_journal
from droiz.runner.store.records import (
    KINDS,
    Abort,
    Ask,
    Cap,
    End,
    Eval,
    Resume,
    Start,
    Tell,
    Test,
    Verified,
    Verify,
)

GOLDEN = Path(__file__).parent / "data" / "golden-journal.jsonl"
"""Format 1 (before checksums): still read."""
GOLDEN_V2 = Path(__file__).parent / "data" / "golden-journal-v2.jsonl"
"""Format 2: every line sealed, ``resume`` records carry the session's caps."""


def test_every_append_is_fsynced_and_read_back(tmp_path: Path, monkeypatch) -> None:
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        journal.append(Start(droiz_version="0.1.0", settings={"x": float("nan")}))
        journal.append(Tell(1, {"v": float("inf")}, [["é"]], {"w": [1.0, float("nan")]}))
    assert len(calls) == 2
    assert read_journal(path) == [
        Start(droiz_version="0.1.0", settings={"x": None}),
        Tell(1, {"v": None}, [["é"]], {"w": [1.0, None]}),
    ]
    assert all(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert "é" in path.read_text(encoding="utf-8")  # UTF-8 text, not \\u escapes


def test_the_golden_journal_parses_to_typed_records(tmp_path: Path) -> None:
    records = read_journal(GOLDEN)
    kinds = [type(r) for r in records]
    assert kinds[:10] == [Start, Ask, Eval, Abort, Resume, Eval, Tell, Cap, Resume, Verify]
    assert kinds[10:] == [Verified, Test, End]
    assert set(KINDS) == {r.kind for r in records}  # every kind is pinned
    start, ask, first = records[0], records[1], records[2]
    assert isinstance(start, Start) and start.version == 1 and start.droiz_version == "0.1.0"
    assert start.settings["method"] == "dro"
    assert isinstance(ask, Ask) and ask.z[1] == [0.75, 0.5] and ask.acquisition_weights is None
    assert isinstance(first, Eval) and first.index == 0 and first.groups == ["clean", "case"]
    assert first.scores == {"case": [1.0, 0.0], "clean": [1.0, 1.0]}
    assert first.answers == {"case": ["drow", "x"], "clean": ["drow", "tac"]}
    assert first.embedding is None and first.budget == {
        "budget_requests": 4,
        "budget_tokens": 40,
        "budget_cost": 0.0,
    }
    second = records[5]
    assert isinstance(second, Eval) and second.answers is None and second.embedding == [0.6, 0.8]
    tell, cap, verify = records[6], records[7], records[9]
    assert isinstance(tell, Tell) and tell.summary["robust_value"] == 0.6
    assert tell.told == [["clean", "case"], ["clean", "format"]] and tell.engine == {"round": 1}
    assert isinstance(cap, Cap) and cap.cap == "max_requests" and cap.limit == 8
    assert isinstance(verify, Verify) and verify.budget is None and verify.groups == ["format"]
    test = records[11]
    assert isinstance(test, Test) and test.index == 0 and test.n_examples["format"] == 1


def test_the_format_1_records_keep_their_json_text(tmp_path: Path) -> None:
    records = read_journal(GOLDEN)
    assert [dump_record(r) for r in records] == GOLDEN.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "again.jsonl"
    with Journal.open(path) as journal:
        for record in records:
            journal.append(record)  # written now, each line is sealed
    lines = GOLDEN.read_text(encoding="utf-8").splitlines()
    assert path.read_text(encoding="utf-8").splitlines() == [seal(line) for line in lines]


def test_the_golden_v2_journal_parses_and_writing_it_reproduces_it_byte_for_byte(
    tmp_path: Path,
) -> None:
    records = read_journal(GOLDEN_V2)
    v1 = read_journal(GOLDEN)
    assert [type(r) for r in records] == [type(r) for r in v1]
    start, resumes = records[0], [r for r in records if isinstance(r, Resume)]
    assert isinstance(start, Start) and start.version == 2
    assert [r.version for r in resumes] == [2, 2]
    assert resumes[0].caps == {"max_requests": 8, "max_tokens": None, "max_cost": None}
    assert resumes[1].caps == {"max_requests": 100, "max_tokens": None, "max_cost": 0.5}
    assert records[2] == v1[2] and records[-2] == v1[-2]  # the other kinds are unchanged
    path = tmp_path / "again.jsonl"
    with Journal.open(path) as journal:
        for record in records:
            journal.append(record)
    assert path.read_bytes() == GOLDEN_V2.read_bytes()
    assert [journal_line(r) for r in records] == GOLDEN_V2.read_text().splitlines()


def test_a_torn_last_line_is_reported_then_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    head = journal_line(Start(droiz_version="0.1.0")) + "\n"
    path.write_text(head + '{"type": "eval", "ro', encoding="utf-8")
    contents = load_journal(path)
    assert contents.records == [Start(droiz_version="0.1.0")] and contents.torn == 20
    with Journal.open(path) as journal:
        assert journal.torn == 20 and journal.records == contents.records
        journal.append(Resume(droiz_version="0.1.0"))
    assert path.read_text() == head + journal_line(Resume(droiz_version="0.1.0")) + "\n"


def test_a_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(journal_line(Start()) + "\n" + journal_line(End()))
    assert load_journal(path).torn == 0
    assert read_journal(path) == [Start(), End()]
    with Journal.open(path) as journal:
        journal.append(Resume())
    assert read_journal(path) == [Start(), End(), Resume()]


def test_damage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    start = journal_line(Start())
    path.write_text(start + '\n{"type": \n{"type": "end"}\n')
    with pytest.raises(JournalError, match="line 2"):
        read_journal(path)
    path.write_text('[1, 2]\n{"type": "end"}\n')
    with pytest.raises(JournalError, match="not a journal record"):
        read_journal(path)
    path.write_text(start + "\n" + seal('{"type": "eval", "round": 1}') + "\n")
    with pytest.raises(JournalError, match=r"line 2: a 'eval' record lacks its 'slot' field"):
        read_journal(path)
    path.write_text(start + "\n" + seal('{"type": "party"}') + "\n")
    with pytest.raises(JournalError, match="line 2: unknown record type 'party'"):
        read_journal(path)
    path.write_text('{"type": "end"}\n')
    with pytest.raises(JournalError, match="does not begin with a start record"):
        read_journal(path)
    with pytest.raises(JournalError, match="no journal"):
        read_journal(tmp_path / "missing.jsonl")


def _golden_lines() -> list[str]:
    return GOLDEN_V2.read_text(encoding="utf-8").splitlines()


def _edit(line: str, old: str, new: str) -> str:
    assert old in line
    return line.replace(old, new, 1)


def _refused(path: Path, lines: list[str], match: str) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(JournalError, match=match) as info:
        read_journal(path)
    assert "\n" not in str(info.value)


def test_damaged_lines_and_values_are_refused_with_the_line_number(tmp_path: Path) -> None:
    path, lines = tmp_path / "j.jsonl", _golden_lines()
    assert lines[2].startswith('{"type": "eval"') and '"case": [1.0, 0.0]' in lines[2]
    flipped = _edit(lines[2], '"case": [1.0, 0.0]', '"case": [0.0, 0.0]')
    _refused(path, [*lines[:2], flipped, *lines[3:]], "line 3 does not match its checksum")
    # the same edit with a recomputed checksum: the group score is no longer the scores' mean
    body = flipped[: flipped.index(', "crc32"')] + "}"
    _refused(path, [*lines[:2], seal(body), *lines[3:]], "line 3: .*mean of its scores is 0.0")
    two = _edit(lines[2], '"group_scores": {"case": 0.5', '"group_scores": {"case": 2.0')
    two = seal(two[: two.index(', "crc32"')] + "}")
    _refused(path, [*lines[:2], two, *lines[3:]], "line 3: .*group score 2.0 for 'case'")
    stripped = lines[5][: lines[5].index(', "crc32"')] + "}"
    _refused(path, [*lines[:5], stripped, *lines[6:]], "line 6 has lost its checksum")
    start = lines[0][: lines[0].index(', "crc32"')] + "}"
    _refused(path, [start, *lines[1:]], "line 1 has no checksum, but its journal format 2")
    _refused(path, [], "holds no record")
    _refused(path, ["", "  "], "holds no record")
    # format 1 (no checksums) is checked by its values
    old = GOLDEN.read_text(encoding="utf-8").splitlines()
    bad = _edit(old[2], '"clean": [1.0, 1.0]}, "paid"', '"clean": [1.0, 1.5]}, "paid"')
    _refused(path, [*old[:2], bad, *old[3:]], "line 3: .*score 1.5 for 'clean'")
    bad = _edit(old[2], '"round": 1', '"round": "one"')
    _refused(path, [*old[:2], bad, *old[3:]], "line 3: a 'eval' record's round must be an integer")


@pytest.mark.parametrize(
    ("start", "resume", "message"),
    [
        (
            {"version": 7, "droiz_version": "9.0"},
            None,
            r"journal format 7, written by droiz 9\.0; this droiz \(.*\) reads format 2 at most",
        ),
        (
            {"version": 1, "droiz_version": "0.1.0"},
            {"version": 3, "droiz_version": "0.5.0"},
            "journal format 3, written by droiz 0.5.0",
        ),
        (
            {"version": 0, "droiz_version": "0.0.1"},
            None,
            "old journal format 0, written by droiz 0.0.1, which this droiz .* no longer reads",
        ),
        ({"version": "one", "droiz_version": "0.1.0"}, None, "unknown journal format \\('one'"),
        ({}, None, r"unknown journal format \(None, written by droiz unknown\)"),
    ],
)
def test_a_journal_in_another_format_is_refused_naming_its_writer(
    tmp_path: Path, start: dict, resume: dict | None, message: str
) -> None:
    lines = [{"type": "start", **start}, {"type": "party"}]  # a kind this droiz does not know
    if resume is not None:
        lines.insert(1, {"type": "resume", **resume})
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(JournalError, match=message) as info:
        read_journal(path)
    assert "\n" not in str(info.value)
    with pytest.raises(JournalError, match=message):
        Journal.open(path)  # nothing is appended to a journal this droiz cannot read
    assert path.read_text().count("\n") == len(lines)


@pytest.mark.parametrize("edit", ["flip a score", "group score 2.0", "empty"])
def test_a_resume_refuses_a_journal_whose_values_were_damaged(
    world_files: dict, world_server, tmp_path: Path, capsys, edit: str
) -> None:
    from runner_helpers import matern_settings

    import droiz
    from droiz.cli import main

    run = tmp_path / "run"
    settings = matern_settings(world_files, world_server, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(droiz.runner.CapReached):
        droiz.optimize(out=run, **settings, max_requests=60)
    path = run / "journal.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if json.loads(line)["type"] == "eval")
    record = json.loads(lines[n])
    group = sorted(record["scores"])[0]
    if edit == "flip a score":
        record["scores"][group][0] = 1.0 - record["scores"][group][0]
    else:
        record["group_scores"][group] = 2.0
    lines[n] = json.dumps(record) + "\n"
    path.write_text("" if edit == "empty" else "".join(lines), encoding="utf-8")
    sent = world_server.n_requests
    code = main(["resume", str(run), "--max-requests", "1000", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    where = "holds no record" if edit == "empty" else f"journal.jsonl: line {n + 1} "
    assert where in err and world_server.n_requests == sent
