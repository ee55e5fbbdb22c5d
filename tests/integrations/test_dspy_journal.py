"""The optimizer's journal: records survive a torn last line; other files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from droiz.integrations.dspy.journal import JOURNAL_NAME, ScoreJournal


def test_a_torn_last_line_is_cut_off_and_the_records_before_it_are_kept(tmp_path: Path) -> None:
    journal = ScoreJournal(tmp_path)
    journal.append({"type": "score", "key": "a", "score": 1.0})
    journal.append({"type": "score", "key": "b", "score": 0.0})
    journal.close()
    path = tmp_path / JOURNAL_NAME
    path.write_bytes(path.read_bytes() + b'{"type": "score", "key": "c", "sc')  # a kill mid-write
    again = ScoreJournal(tmp_path)
    assert again.get("score", "a") == {"type": "score", "key": "a", "score": 1.0}
    assert again.get("score", "b") is not None and again.get("score", "c") is None
    again.append({"type": "score", "key": "c", "score": 0.5})
    again.close()
    assert ScoreJournal(tmp_path).get("score", "c") == {"type": "score", "key": "c", "score": 0.5}


def test_a_damaged_line_or_another_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    path.write_text('{"type": "start", "version": 7}\n')
    with pytest.raises(ValueError, match="not a journal of this droiz's RobustInstruction"):
        ScoreJournal(tmp_path)
    journal = ScoreJournal(tmp_path / "run")
    journal.append({"type": "score", "key": "a", "score": 1.0})
    journal.close()
    damaged = tmp_path / "run" / JOURNAL_NAME
    damaged.write_text(damaged.read_text().replace('"score": 1.0}', '"score": 1.0') + "{}\n")
    with pytest.raises(ValueError, match="line 2 is not a journal record"):
        ScoreJournal(tmp_path / "run")
