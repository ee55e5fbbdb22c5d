"""Helpers of the ``droiz bench grid`` tests (a unique module name; ``conftest.py`` puts this
folder on the path, as ``--import-mode=importlib`` does not)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from droiz.testing import FakeOpenAIServer, InstructionWorld
from droiz.testing.server import prompt_of

CELL_SETTINGS = """\
budget = 9
n_init = 5
batch_size = 2
n_dev = 3
n_test = 6
finalists = 1
kernel = "matern"
[engine]
cma_starts = 2
cma_popsize = 8
cma_generations = 2
fit_maxiter = 40
[executor_options.retry]
base_delay = 0.001
max_delay = 0.01
max_elapsed = 60
"""
"""Small cells with the fast ``matern`` kernel: the grid's logic is under test, not BO."""


@dataclass
class GridWorld:
    world: InstructionWorld
    tasks: list[Path]
    pool: Path
    config: Path


@dataclass
class GatedServer:
    """The world's server; ``answered`` holds the ``(model, prompt)`` of every request answered
    so far, in order; clearing ``gate`` makes every answer wait until it is set again."""

    server: FakeOpenAIServer
    gate: threading.Event = field(default_factory=threading.Event)
    answered: list[tuple[str, str]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def prompts(self, start: int = 0, model: str | None = None) -> list[str]:
        """The prompts of the requests received, from the ``start``-th on (for ``model`` only,
        if given)."""
        bodies = list(self.server.bodies)[start:]
        return [prompt_of(b) for b in bodies if model is None or b.get("model") == model]


def grid_args(
    gw: GridWorld,
    server: GatedServer,
    out: Path,
    *,
    tasks: int = 2,
    methods: str = "dro,ei,random",
    seeds: int = 2,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """``droiz bench grid`` arguments of a grid on the world."""
    return [
        "bench", "grid",
        "--tasks", ",".join(str(t) for t in gw.tasks[:tasks]),
        "--methods", methods,
        "--seeds", str(seeds),
        "--generator", f"pool:{gw.pool}",
        "--executor", "openai:world",
        "--base-url", server.base_url,
        "--config", str(gw.config),
        "--out", str(out),
        *extra,
    ]  # fmt: skip
