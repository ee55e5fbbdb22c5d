"""Fixtures for the runner tests: the synthetic reverse-the-word world, its files and servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from droiz.llm.testing import FakeOpenAIServer
from droiz.runner.testing import InstructionWorld

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # makes runner_helpers importable (see tests/ambiguity/conftest.py)
    sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real cache directory."""
    monkeypatch.setenv("DROIZ_CACHE_DIR", str(tmp_path / "user-cache"))


@pytest.fixture(scope="session")
def world() -> InstructionWorld:
    return InstructionWorld("small")


@pytest.fixture(scope="session")
def world_files(world: InstructionWorld, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The world's task file and instruction pool."""
    root = tmp_path_factory.mktemp("world")
    return {
        "task": world.write_task(root / "reverse.jsonl"),
        "pool": world.write_pool(root / "pool.txt"),
    }


@pytest.fixture
def world_server(world: InstructionWorld) -> Iterator[FakeOpenAIServer]:
    """A loopback server answering as the world's scripted LLM."""
    with FakeOpenAIServer(answer=world.answer) as server:
        yield server
