"""Requests in flight are coordinated across processes through leases in the response cache: a
request another live process is sending is waited for, not sent again; the lease of an owner
that died (or whose lease expired) is taken over."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from droiz.llm import CachedExecutor, OpenAIExecutor, ResponseCache
from droiz.llm.cache import CACHE_FILENAME, HOST
from droiz.testing import FakeOpenAIServer
from droiz.testing.server import echo_answer, prompt_of


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _leases(directory: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(directory / CACHE_FILENAME) as conn:
        return conn.execute("SELECT key, pid, host, expires FROM leases").fetchall()


def _lease(directory: Path, key: str, *, pid: int, host: str, expires: float) -> None:
    with sqlite3.connect(directory / CACHE_FILENAME) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO leases VALUES (?, 'other', ?, ?, ?)", (key, pid, host, expires)
        )


def _gated_server() -> tuple[FakeOpenAIServer, threading.Event]:
    gate = threading.Event()

    def answer(prompt: str, body: Any) -> str:
        gate.wait()
        return echo_answer(prompt, body)

    return FakeOpenAIServer(answer=answer), gate


def test_a_lease_is_waited_for_while_its_owner_lives_and_taken_over_when_it_cannot(tmp_path):
    with ResponseCache(tmp_path) as first, ResponseCache(tmp_path) as second:
        assert first.claim(["k1", "k2"]).mine == ["k1", "k2"]
        claim = second.claim(["k1", "k2", "k3"])  # the first is alive (this very process)
        assert (claim.mine, claim.waiting) == (["k3"], ["k1", "k2"])
        first.put("k1", "one")  # storing the answer releases the lease
        first.release(["k2"])  # (its request failed): free for others
        assert second.claimable(["k2"]) and not second.claimable(["k3"])  # k3: its own
        claim = second.claim(["k1", "k2"])
        assert (claim.found, claim.mine, claim.waiting) == ({"k1": "one"}, ["k2"], [])
        now = time.time()
        _lease(tmp_path, "far", pid=1, host="elsewhere", expires=now + 600)
        _lease(tmp_path, "late", pid=1, host="elsewhere", expires=now - 1)  # no heartbeat
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()  # its pid is gone now
        _lease(tmp_path, "dead", pid=gone.pid, host=HOST, expires=now + 600)
        claim = second.claim(["far", "late", "dead"])
        assert (claim.mine, claim.waiting) == (["late", "dead"], ["far"])
    assert [row[0] for row in _leases(tmp_path)] == ["far"]  # closing gives its leases back


def test_the_lease_of_a_killed_owner_is_taken_over(tmp_path):
    script = (
        "import sys\n"
        "from droiz.llm import cache as module\n"
        "module.LEASE_TTL = 3600.0  # it outlives the test: only its owner's death frees it\n"
        "from droiz.llm import CachedExecutor, OpenAIExecutor, ResponseCache\n"
        "cache = ResponseCache(sys.argv[1])\n"
        "ex = CachedExecutor(OpenAIExecutor('m', base_url=sys.argv[2]), cache)\n"
        "ex.execute([f'p{i}' for i in range(5)])\n"
    )
    server, gate = _gated_server()
    with server:
        owner = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), server.base_url])
        try:
            _wait_for(lambda: server.n_requests == 5, "the owner's requests")
            leases = _leases(tmp_path)
            assert len(leases) == 5 and {(pid, host) for _, pid, host, _ in leases} == {
                (owner.pid, HOST)
            }
            assert min(expires for *_, expires in leases) > time.time() + 1000
        finally:
            owner.send_signal(signal.SIGKILL)
            owner.wait()
        gate.set()
        with ResponseCache(tmp_path) as cache:
            ex = CachedExecutor(OpenAIExecutor("m", base_url=server.base_url), cache)
            assert ex.execute([f"p{i}" for i in range(5)]) == [f"echo: p{i}" for i in range(5)]
            assert ex.stats.cache_misses == 5 and cache.count("response") == 5
        assert server.n_requests == 10  # the dead owner's five, then the taker's five
    assert _leases(tmp_path) == []


@pytest.mark.slow
def test_two_identical_runs_on_one_cache_send_each_request_once(tmp_path):
    from droiz.testing import InstructionWorld

    world = InstructionWorld("small")
    task, pool = world.write_task(tmp_path / "t.jsonl"), world.write_pool(tmp_path / "p.txt")
    gate = threading.Event()

    def answer(prompt: str, body: Any) -> str:
        gate.wait()
        return world.answer(prompt, body)

    config = tmp_path / "c.toml"
    config.write_text("[engine]\ncma_starts = 2\ncma_popsize = 8\ncma_generations = 2\n")
    with FakeOpenAIServer(answer=answer) as server:

        def run(name: str, err: Any) -> subprocess.Popen[str]:
            argv = [sys.executable, "-m", "droiz.cli", "-v", "optimize", "--task", str(task)]
            argv += ["--generator", f"pool:{pool}", "--executor", "openai:world"]
            argv += ["--base-url", server.base_url, "--cache-dir", str(tmp_path / "cache")]
            argv += ["--budget", "6", "--n-init", "3", "--batch-size", "3", "--n-dev", "3"]
            argv += ["--n-test", "3", "--finalists", "1", "--kernel", "matern", "--no-progress"]
            argv += ["--config", str(config), "--out", str(tmp_path / name)]
            return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, text=True)

        first = run("first", subprocess.DEVNULL)
        second: subprocess.Popen[str] | None = None
        lines: list[str] = []
        try:
            _wait_for(lambda: server.n_requests > 0, "the first run's requests")
            second = run("second", subprocess.PIPE)
            assert second.stderr is not None
            reader = threading.Thread(target=lambda: lines.extend(second.stderr), daemon=True)
            reader.start()

            def sent_twice() -> bool:
                prompts = [prompt_of(b) for b in list(server.bodies)]
                return len(set(prompts)) < len(prompts)

            waiting = "another droiz process is fetching"
            _wait_for(lambda: any(waiting in x for x in lines) or sent_twice(), "the second run")
            gate.set()
            assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0, lines[-5:]
        finally:
            gate.set()
            for proc in (first, second):
                if proc is not None:
                    proc.kill()
                    proc.wait()
        prompts = [prompt_of(b) for b in server.bodies]
    assert len(prompts) == len(set(prompts))  # every request was sent once in all
    best = [(tmp_path / n / "best.json").read_text() for n in ("first", "second")]
    assert best[0] == best[1]
