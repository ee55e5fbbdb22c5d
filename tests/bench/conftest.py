"""Fixtures of the ``droiz bench grid`` tests: the runner's synthetic reverse-the-word world
(``droiz.testing.worlds``) as two task files, its instruction pool, small fast cell settings and
a loopback server that answers as the world's scripted LLM, records every request and can hold
its answers back (``gate``); see ``grid_helpers.py``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from grid_helpers import CELL_SETTINGS, GatedServer, GridWorld  # noqa: E402

from droiz.testing import FakeOpenAIServer, InstructionWorld  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROIZ_CACHE_DIR", str(tmp_path / "user-cache"))


@pytest.fixture(scope="session")
def grid_world(tmp_path_factory: pytest.TempPathFactory) -> GridWorld:
    root = tmp_path_factory.mktemp("grid-world")
    world = InstructionWorld("small")
    tasks = [world.write_task(root / "rev-a.jsonl"), world.write_task(root / "rev-b.jsonl")]
    config = root / "cells.toml"
    config.write_text(CELL_SETTINGS)
    return GridWorld(world, tasks, world.write_pool(root / "pool.txt"), config)


def _serve(world: InstructionWorld) -> Iterator[GatedServer]:
    holder: dict[str, GatedServer] = {}

    def answer(prompt: str, body: Any) -> str:
        gated = holder["server"]
        gated.gate.wait()
        gated.answered.append((str(body.get("model")), prompt))
        return world.answer(prompt, body)

    with FakeOpenAIServer(answer=answer) as server:
        holder["server"] = gated = GatedServer(server)
        gated.gate.set()
        yield gated
        gated.gate.set()


@pytest.fixture
def grid_server(grid_world: GridWorld) -> Iterator[GatedServer]:
    yield from _serve(grid_world.world)


@pytest.fixture(scope="module")
def module_server(grid_world: GridWorld) -> Iterator[GatedServer]:
    yield from _serve(grid_world.world)


@pytest.fixture
def local_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray importable, and any Ray the test starts local (127.0.0.1), usage stats off."""
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray, never a remote cluster
