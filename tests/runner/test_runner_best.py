"""``best.json`` is a typed, versioned :class:`RunBest`: it writes the keys droiz has always
written, in the same order, plus ``format``; files without ``format`` still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from droiz.exceptions import DataError
from droiz.runner import RunBest, replay
from droiz.runner.outputs.best import BEST_FORMAT

SAVED = Path(__file__).parent / "data" / "run-206b5e3"


@pytest.mark.parametrize("name", ["finished", "capped"])
def test_a_best_json_without_format_reads_and_writes_back_key_for_key(name: str) -> None:
    data = json.loads((SAVED / name / "best.json").read_text())
    assert "format" not in data  # written before the field existed
    best = RunBest.from_dict(data)
    assert best.format == 1 and best.finished == (name == "finished")
    assert (best.test is None) == (name == "capped")
    again = best.to_dict(versioned=False)
    assert list(again) == list(data) and again == data
    assert list(best.to_dict()) == [*data, "format"]


def test_a_new_run_writes_its_format_last_and_reads_back(clean_run: Path) -> None:
    text = (clean_run / "best.json").read_text()
    data = json.loads(text)
    assert list(data)[-1] == "format" and data["format"] == BEST_FORMAT
    best = RunBest.from_dict(data)
    assert json.dumps(best.to_dict(), indent=2, ensure_ascii=False) + "\n" == text
    assert best.test is not None and best.test.per_group == data["test"]["per_group"]
    assert best.dev == data["dev"] and best.fingerprints == data["fingerprints"]
    result = replay(clean_run)
    assert isinstance(result.best, RunBest) and result.best == best
    assert result.best == best.to_dict(versioned=False)  # also the payload, as a dict


def test_a_newer_or_broken_best_json_is_refused_in_one_line() -> None:
    data = json.loads((SAVED / "finished" / "best.json").read_text())
    with pytest.raises(DataError, match=f"format {BEST_FORMAT + 1}; this droiz reads format"):
        RunBest.from_dict({**data, "format": BEST_FORMAT + 1})
    with pytest.raises(DataError, match="unknown format"):
        RunBest.from_dict({**data, "format": "one"})
    del data["groups"]
    with pytest.raises(DataError, match=r"not a droiz best\.json"):
        RunBest.from_dict(data)
