"""Helpers of the runner tests (a unique module name; ``conftest.py`` puts this folder on the
path, as ``--import-mode=importlib`` does not)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from droiz.testing import FakeOpenAIServer, InstructionWorld

FAST_ENGINE = {"cma_starts": 5, "cma_popsize": 20, "cma_generations": 5}
"""Smaller CMA-ES searches: the loop's logic is what these tests check, not the optimiser's."""

FAST_RETRY = {"retry": {"max_retries": 4, "base_delay": 0.001, "max_delay": 0.01}}
"""Millisecond backoff, so fault tests stay fast."""


def run_settings(world_files: dict, server: FakeOpenAIServer, **extra: Any) -> dict[str, Any]:
    """Keyword arguments of a small, fast ``droiz.optimize`` run on the world."""
    settings: dict[str, Any] = {
        "task": str(world_files["task"]),
        "generator": f"pool:{world_files['pool']}",
        "executor": "openai:world",
        "base_url": server.base_url,
        "budget": 30,
        "n_init": 20,
        "batch_size": 10,
        "n_dev": 10,
        "engine": dict(FAST_ENGINE),
        "executor_options": dict(FAST_RETRY),
    }
    settings.update(extra)
    return settings


def read_records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def read_best(run_dir: Path) -> dict[str, Any]:
    """The result ``best.json`` holds: the file without its ``format`` field (which
    ``OptimizeResult.best`` does not carry either)."""
    best = json.loads((run_dir / "best.json").read_text())
    best.pop("format", None)
    return best


TIME_RETRY = {"retry": {"base_delay": 0.001, "max_delay": 0.01, "max_elapsed": 60}}
"""Millisecond backoff bounded by time only (as droiz's default, with shorter waits)."""


def matern_settings(world_files: dict, server: FakeOpenAIServer, **extra: Any) -> dict[str, Any]:
    """A small run with the fast ``matern`` kernel and time-bounded retries (cap and fault
    tests; :func:`clean_run` in ``conftest.py`` is its fault-free reference)."""
    settings = run_settings(world_files, server, kernel="matern", executor_options=TIME_RETRY)
    return settings | extra


def measured(run_dir: Path) -> dict[tuple[str, int], tuple[Any, ...]]:
    """The journal's measurements (eval, verify, test) by index, without usage or timing
    fields; each may be journaled once only."""
    return measured_records(read_records(run_dir))


def measured_records(records: list[dict[str, Any]]) -> dict[tuple[str, int], tuple[Any, ...]]:
    """:func:`measured` of journal records."""
    out = {}
    for r in records:
        if r["type"] in ("eval", "verify", "test"):
            key = (r["type"], r["index"])
            assert key not in out, f"{key} journaled twice"
            out[key] = (r["instruction"], r.get("groups"), r["scores"])
    return out


def same_run_result(best: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two ``best.json`` payloads hold the same result, for runs against two different
    (loopback) servers: everything equal except the executor's fingerprint, which names the
    endpoint (its cache namespace) and so differs between servers."""
    fa, fb = best.get("fingerprints", {}), other.get("fingerprints", {})
    rest_a = {k: v for k, v in best.items() if k != "fingerprints"}
    rest_b = {k: v for k, v in other.items() if k != "fingerprints"}
    return rest_a == rest_b and fa.get("generator") == fb.get("generator")


def cli_config(path: Path, budget: int = 30) -> Path:
    """A TOML config of a small, fast CLI run (``matern`` kernel, millisecond retries)."""
    engine = "\n".join(f"{k} = {v}" for k, v in FAST_ENGINE.items())
    path.write_text(
        f'budget = {budget}\nn_init = 20\nbatch_size = 10\nn_dev = 10\nkernel = "matern"\n'
        f"[engine]\n{engine}\n"
        "[executor_options.retry]\nbase_delay = 0.001\nmax_delay = 0.01\nmax_elapsed = 60\n"
    )
    return path


def cli_args(world_files: dict, server: FakeOpenAIServer, out: Path, config: Path) -> list[str]:
    """``droiz optimize`` arguments of a run of the world (settings in ``config``)."""
    return [
        "optimize",
        "--task",
        str(world_files["task"]),
        "--generator",
        f"pool:{world_files['pool']}",
        "--executor",
        "openai:world",
        "--base-url",
        server.base_url,
        "--config",
        str(config),
        "--out",
        str(out),
        "--no-progress",
    ]


def droiz_process(args: list[str], sigint: str = "default", **env: str) -> subprocess.Popen[bytes]:
    """``python -m droiz ARGS`` as a subprocess importing this droiz, with extra environment.

    ``sigint`` is how the subprocess handles SIGINT, whatever the test run inherited:
    ``"default"`` as at a terminal (Ctrl-C interrupts), ``"ignored"`` as a command started in
    the background of a script (a shell without job control ignores SIGINT there)."""
    handler = {"default": "signal.default_int_handler", "ignored": "signal.SIG_IGN"}[sigint]
    start = (
        f"import runpy, signal; signal.signal(signal.SIGINT, {handler}); "
        "runpy.run_module('droiz', run_name='__main__', alter_sys=True)"
    )
    full = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env}
    cmd = [sys.executable, "-c", start, *args]
    return subprocess.Popen(cmd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def closed_port_url() -> str:
    """The ``/v1`` URL of a free loopback port that nothing listens on once it is closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def optimize_base(world_files: dict, server: FakeOpenAIServer, tmp_path: Path) -> dict[str, str]:
    """The flags of a valid ``droiz optimize`` run of the world, by flag, that the bad-input
    tests change one or two of."""
    return {
        "--task": str(world_files["task"]),
        "--generator": f"pool:{world_files['pool']}",
        "--executor": "openai:m",
        "--base-url": server.base_url,
        "--out": str(tmp_path / "run"),
        "--cache-dir": str(tmp_path / "cache"),
    }


def reverse_task_file(path: Path, test_words: list[str]) -> Path:
    """A reverse-the-word task file at ``path``: ``test_words`` in the test split, two induce
    rows."""
    rows = [{"input": w, "output": w[::-1], "split": "test"} for w in test_words]
    rows += [{"input": w, "output": w[::-1], "split": "induce"} for w in ("dapuge", "renefi")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


PROPOSALS = ("write the word backwards.", "repeat the word.", "reverse the order of the letters.")
"""What :func:`proposer_answer` proposes."""


def proposer_answer(world: InstructionWorld) -> Callable[[str, dict], str]:
    """The world's answers, and for an ``api:`` generator's APE-style prompt one of
    :data:`PROPOSALS` (chosen by the prompt's characters)."""

    def answer(prompt: str, body: dict) -> str:
        if prompt.startswith("I gave a friend an instruction"):
            return PROPOSALS[sum(map(ord, prompt)) % len(PROPOSALS)]
        return world.answer(prompt, body)

    return answer
