"""Fixtures of the tasks tests: a cached task loader and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from droiz.cli import main
from droiz.tasks import Task, load_task


@pytest.fixture(scope="session")
def load(data_dir: Path) -> Callable[..., Task]:
    """``load(name, seed=0)``: a built-in task from the shared data, loaded once per session."""
    cache: dict[tuple[str, int], Task] = {}

    def _load(name: str, seed: int = 0) -> Task:
        if (name, seed) not in cache:
            cache[name, seed] = load_task(name, data_dir, seed=seed)
        return cache[name, seed]

    return _load


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``cli(*argv)`` runs ``droiz.cli.main`` and returns (exit code, stdout, stderr)."""

    def _run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _run
