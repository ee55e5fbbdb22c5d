"""ResponseCache, cache keys and namespaces."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from droiz.exceptions import ConfigError
from droiz.llm import ResponseCache, default_cache_dir, endpoint_namespace, response_key
from droiz.llm.cache import CACHE_FILENAME, hash_key, instruction_key


def test_default_dir_follows_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("DROIZ_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    assert ResponseCache().path == tmp_path / "here" / CACHE_FILENAME
    monkeypatch.delenv("DROIZ_CACHE_DIR")
    assert default_cache_dir().name == "droiz"


def test_put_get_count_and_persistence(tmp_path):
    with ResponseCache(tmp_path) as cache:
        cache.put("k1", "one", meta={"model": "m"})
        cache.put("k2", "two", kind="instruction")
        assert cache.get("k1") == "one" and cache.get("missing") is None
        assert cache.get_many(["k1", "k2", "k3"]) == {"k1": "one", "k2": "two"}
        assert (cache.count(), cache.count("response"), cache.count("instruction")) == (2, 1, 1)
    with ResponseCache(tmp_path) as again:
        assert again.get("k2") == "two"


def test_get_many_handles_more_keys_than_sqlite_variables(tmp_path):
    with ResponseCache(tmp_path) as cache:
        for i in range(1200):
            cache.put(f"k{i}", str(i))
        found = cache.get_many([f"k{i}" for i in range(0, 2400, 2)])
    assert len(found) == 600 and found["k1198"] == "1198"


def test_database_is_in_wal_mode(tmp_path):
    ResponseCache(tmp_path).close()
    with sqlite3.connect(tmp_path / CACHE_FILENAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_writers_in_threads_and_processes(tmp_path):
    script = (
        "import sys\nfrom droiz.llm.cache import ResponseCache\n"
        "c = ResponseCache(sys.argv[1])\n"
        "for i in range(200): c.put(f'p{sys.argv[2]}-{i}', 'v')\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(n)]) for n in range(2)
    ]

    def write(n: int) -> None:
        with ResponseCache(tmp_path) as cache:  # one connection per writer
            for i in range(200):
                cache.put(f"t{n}-{i}", "v")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with ResponseCache(tmp_path) as cache:
        assert cache.count() == 5 * 200


def test_keys_hash_exactly_what_determines_the_output():
    base = response_key("openai:m#1", "prompt")
    assert base == response_key("openai:m#1", "prompt")
    assert base == hash_key(
        {"kind": "response", "fp": "openai:m#1", "prompt": "prompt", "sample": None}
    )
    assert (
        len(
            {
                base,
                response_key("openai:m#2", "prompt"),
                response_key("openai:m#1", "other"),
                response_key("openai:m#1", "prompt", 0),
                response_key("openai:m#1", "prompt", 1),
            }
        )
        == 5
    )


def test_instruction_key_uses_exact_z_bytes_and_demos():
    import torch

    z = torch.tensor([0.1, 0.2], dtype=torch.float64)
    nudged = z.clone()
    nudged[0] = torch.nextafter(z[0], torch.tensor(1.0, dtype=torch.float64))
    key = instruction_key("fp", [("a", "b")], z.numpy().tobytes())
    assert key != instruction_key("fp", [("a", "b")], nudged.numpy().tobytes())
    assert key != instruction_key("fp", [("a", "c")], z.numpy().tobytes())
    assert key != instruction_key("fp2", [("a", "b")], z.numpy().tobytes())


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000", True),
        ("http://user:pw@localhost:8000/v1", "http://localhost:8000/other", True),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1", False),
        ("http://127.0.0.1:8000/v1", "http://localhost:8000/v1", False),
        ("https://api.openai.com/v1", None, True),
        ("http://example.com/v1", "http://example.com:80/v1", True),
    ],
)
def test_namespace_is_host_and_port(a, b, same):
    assert (endpoint_namespace(a) == endpoint_namespace(b)) is same


def test_namespace_needs_a_host():
    with pytest.raises(ConfigError, match="no host"):
        endpoint_namespace("not a url")


def test_cache_path_is_a_plain_file(tmp_path: Path):
    cache = ResponseCache(tmp_path / "nested" / "dir")
    assert cache.path.parent.is_dir() and "ResponseCache(path=" in repr(cache)
    cache.close()


STRESS = (
    "import sys\n"
    "from droiz.llm.cache import ResponseCache\n"
    "with ResponseCache(sys.argv[1]) as cache:\n"
    "    for i in range(1500):\n"
    "        cache.put(f'k{i}', f'v{i}')\n"
    "        if i % 10 == 0:\n"
    "            assert cache.get(f'k{i}') == f'v{i}'\n"
    "print('done')\n"
)


def test_three_processes_write_the_same_keys_at_once(tmp_path) -> None:
    """A fresh database (its switch to WAL included) and the same 1500 keys, three writers."""
    cmd = [sys.executable, "-c", STRESS, str(tmp_path / "shared")]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen(cmd, **pipes) for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.strip() == "done", err
        assert "locked" not in err
    with ResponseCache(tmp_path / "shared") as cache:
        assert cache.count() == 1500
        values = cache.get_many([f"k{i}" for i in range(1500)])
    assert values == {f"k{i}": f"v{i}" for i in range(1500)}
