"""``droiz data download`` against a local HTTP server that serves the upstream layout.

The server tree is built from MANIFEST.md's path mapping (parsed here, independently of the
downloader's own table) over the files of the shared data directory.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from droiz.tasks import datadir as datadir_module
from droiz.tasks import load_task
from droiz.tasks.download import known_sums


def shared_sums(data_dir: Path) -> dict[str, str]:
    sums = {}
    for line in (data_dir / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split()
        sums[path.removeprefix("./")] = digest
    return sums


def manifest_mapping(data_dir: Path) -> dict[str, str]:
    """Local top folder -> ``owner/repo/commit/remote-prefix``, from MANIFEST.md's header."""
    text = (data_dir / "MANIFEST.md").read_text()
    pairs = re.findall(
        r"^- (\S+?)/(\S+).*\n\s+-> github\.com/(\S+) @ (\w+) : ([^\s,]+)", text, re.M
    )
    mapping = {}
    for top, local_rest, repo, commit, remote in pairs:
        first = re.split(r"[/{]", local_rest)[0]
        mapping[top] = f"{repo}/{commit}/{remote[: remote.index(first)]}"
    return mapping


@pytest.fixture
def mirror(data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, server root): every data file linked at its upstream path."""
    root = tmp_path / "mirror"
    mapping = manifest_mapping(data_dir)
    assert set(mapping) == {"instruction-induction", "instructzero-extra", "bigbench-ii"}
    for rel in shared_sums(data_dir):
        top, rest = rel.split("/", 1)
        target = root / (mapping[top] + rest)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(data_dir / rel)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_packaged_sums_match_the_shared_data(data_dir: Path) -> None:
    assert shared_sums(data_dir) == known_sums()
    assert len(known_sums()) == 110


def test_download_fetches_and_verifies_every_file(
    mirror: tuple[str, Path],
    data_dir: Path,
    tmp_path: Path,
    cli: Callable,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base_url, _ = mirror
    dest = tmp_path / "dest"
    code, out, err = cli("data", "download", "--dest", dest, "--base-url", base_url)
    assert code == 0, err
    assert out.startswith("110 file(s) downloaded (31.") and str(dest) in out
    assert (dest / "SHA256SUMS").read_bytes() == (data_dir / "SHA256SUMS").read_bytes()
    for rel, digest in known_sums().items():
        assert hashlib.sha256((dest / rel).read_bytes()).hexdigest() == digest
        assert (dest / rel).read_bytes() == (data_dir / rel).read_bytes()
    assert not list(dest.rglob("*.part"))
    code, out, _ = cli("data", "download", "--dest", dest, "--base-url", base_url)
    assert code == 0 and out.startswith("0 file(s) downloaded (0.0 MB), 110 already present")
    # The download folder is found by default (no --data-dir, no DROIZ_DATA_DIR).
    monkeypatch.delenv("DROIZ_DATA_DIR", raising=False)
    monkeypatch.setattr(datadir_module, "default_download_dir", lambda: dest)
    assert load_task("sum").sizes == {"induce": 100, "dev": 4850, "test": 100}
    code, out, _ = cli("data", "verify")
    assert code == 0 and str(dest) in out


def test_download_refuses_a_corrupted_file(
    mirror: tuple[str, Path], data_dir: Path, tmp_path: Path, cli: Callable
) -> None:
    base_url, root = mirror
    rel = "bigbench-ii/causal_judgment/task.json"  # the first file fetched
    served = root / manifest_mapping(data_dir)["bigbench-ii"] / "causal_judgment/task.json"
    content = served.read_bytes()
    served.unlink()
    served.write_bytes(content + b"\n")
    dest = tmp_path / "dest"
    code, out, err = cli("data", "download", "--dest", dest, "--base-url", base_url)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "checksum mismatch for task.json" in err and "causal_judgment" in err
    assert not (dest / rel).exists()
    assert not list(dest.rglob("*.part"))


def test_download_reports_http_errors(tmp_path: Path, cli: Callable, mirror) -> None:
    base_url, _ = mirror
    code, _, err = cli("data", "download", "--dest", tmp_path / "d", "--base-url", base_url + "/x")
    assert code == 2 and "HTTP error 404" in err and err.count("\n") == 1


def test_verify_flags_a_damaged_copy(data_dir: Path, tmp_path: Path, cli: Callable) -> None:
    code, out, _ = cli("data", "verify", "--data-dir", data_dir)
    assert code == 0 and "match SHA256SUMS" in out
    copy = tmp_path / "copy"
    target = copy / "instruction-induction/raw/execute/sum.json"
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    code, _, err = cli("data", "verify", "--data-dir", copy)
    assert code == 1 and "sum.json: checksum mismatch" in err and "109 problem" not in err
    assert "110 problem(s)" in err
