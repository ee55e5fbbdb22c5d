"""Fixtures for the runner tests: the synthetic reverse-the-word world, its files and servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from droiz.testing import FakeOpenAIServer, InstructionWorld

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


@pytest.fixture(scope="session")
def clean_run(world: InstructionWorld, world_files: dict, tmp_path_factory) -> Path:
    """A fault-free, uncapped run of ``runner_helpers.matern_settings``; ``sent`` in its
    directory holds the requests the server saw."""
    from runner_helpers import matern_settings

    import droiz

    out = tmp_path_factory.mktemp("clean") / "run"
    with FakeOpenAIServer(answer=world.answer) as server:
        settings = matern_settings(world_files, server, cache_dir=str(out.parent / "cache"))
        droiz.optimize(out=out, **settings)
        out.joinpath("sent").write_text(str(server.n_requests))
    return out
