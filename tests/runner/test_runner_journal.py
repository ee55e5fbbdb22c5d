"""The journal: typed records, append-only, fsync'd, strict JSON, tolerant of a torn last line,
versioned; ``tests/runner/data/golden-journal.jsonl`` pins the format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from droiz.runner import Journal, JournalError, read_journal
from droiz.runner.store.journal import dump_record, load_journal
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


def test_writing_the_golden_records_reproduces_the_file_byte_for_byte(tmp_path: Path) -> None:
    records = read_journal(GOLDEN)
    path = tmp_path / "again.jsonl"
    with Journal.open(path) as journal:
        for record in records:
            journal.append(record)
    assert path.read_bytes() == GOLDEN.read_bytes()
    assert [dump_record(r) for r in records] == GOLDEN.read_text(encoding="utf-8").splitlines()


def test_a_torn_last_line_is_reported_then_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    head = dump_record(Start(droiz_version="0.1.0")) + "\n"
    path.write_text(head + '{"type": "eval", "ro', encoding="utf-8")
    contents = load_journal(path)
    assert contents.records == [Start(droiz_version="0.1.0")] and contents.torn == 20
    with Journal.open(path) as journal:
        assert journal.torn == 20 and journal.records == contents.records
        journal.append(Resume(droiz_version="0.1.0"))
    assert path.read_text() == head + dump_record(Resume(droiz_version="0.1.0")) + "\n"


def test_a_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(dump_record(Start()) + "\n" + dump_record(End()))
    assert load_journal(path).torn == 0
    assert read_journal(path) == [Start(), End()]
    with Journal.open(path) as journal:
        journal.append(Resume())
    assert read_journal(path) == [Start(), End(), Resume()]


def test_damage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    start = dump_record(Start())
    path.write_text(start + '\n{"type": \n{"type": "end"}\n')
    with pytest.raises(JournalError, match="line 2"):
        read_journal(path)
    path.write_text('[1, 2]\n{"type": "end"}\n')
    with pytest.raises(JournalError, match="not a journal record"):
        read_journal(path)
    path.write_text(start + '\n{"type": "eval", "round": 1}\n')
    with pytest.raises(JournalError, match=r"line 2: a 'eval' record lacks its 'slot' field"):
        read_journal(path)
    path.write_text(start + '\n{"type": "party"}\n')
    with pytest.raises(JournalError, match="line 2: unknown record type 'party'"):
        read_journal(path)
    path.write_text('{"type": "end"}\n')
    with pytest.raises(JournalError, match="does not begin with a start record"):
        read_journal(path)
    with pytest.raises(JournalError, match="no journal"):
        read_journal(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("start", "resume", "message"),
    [
        (
            {"version": 7, "droiz_version": "9.0"},
            None,
            r"journal format 7, written by droiz 9\.0; this droiz \(.*\) reads format 1 at most",
        ),
        (
            {"version": 1, "droiz_version": "0.1.0"},
            {"version": 2, "droiz_version": "0.5.0"},
            "journal format 2, written by droiz 0.5.0",
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
