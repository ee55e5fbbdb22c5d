"""The journal: append-only, fsync'd, strict JSON, tolerant of a torn last line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from droiz.runner import Journal, JournalError, read_journal


def test_every_append_is_fsynced_and_read_back(tmp_path: Path, monkeypatch) -> None:
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        journal.append({"type": "start", "x": float("nan")})
        journal.append({"type": "eval", "scores": [1.0, float("inf")], "text": "é"})
    assert len(calls) == 2
    assert read_journal(path) == [
        {"type": "start", "x": None},
        {"type": "eval", "scores": [1.0, None], "text": "é"},
    ]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_torn_last_line_is_ignored_then_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"type": "start"}\n{"type": "eval", "ro')
    assert read_journal(path) == [{"type": "start"}]
    with Journal.open(path) as journal:
        journal.append({"type": "resume"})
    assert path.read_text() == '{"type": "start"}\n{"type": "resume"}\n'


def test_a_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"type": "start"}\n{"type": "end"}')
    assert [r["type"] for r in read_journal(path)] == ["start", "end"]
    with Journal.open(path) as journal:
        journal.append({"type": "resume"})
    assert [r["type"] for r in read_journal(path)] == ["start", "end", "resume"]


def test_damage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"type": "start"}\n{"type": \n{"type": "end"}\n')
    with pytest.raises(JournalError, match="line 2"):
        read_journal(path)
    path.write_text('[1, 2]\n{"type": "end"}\n')
    with pytest.raises(JournalError, match="not a journal record"):
        read_journal(path)
    with pytest.raises(JournalError, match="no journal"):
        read_journal(tmp_path / "missing.jsonl")
