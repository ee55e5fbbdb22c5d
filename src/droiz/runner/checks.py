"""Checks of local inputs, run before any model is loaded or any endpoint is probed.

Every failure is a one-line :class:`~droiz.exceptions.ConfigError` naming the flag, file or field:
setting types (a ``bool`` is not an ``int``), seeds in ``[0, 2**63)``, the budget cap, backend
options (unknown names, types, devices this torch cannot use) and model names that exist neither
locally nor on the Hugging Face hub.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError
from droiz.registry import unknown_name_message
from droiz.validate import MAX_COUNT, MAX_SEED, check_count, check_seed

__all__ = ["LARGE_BUDGET", "MAX_COUNT", "MAX_SEED", "check_count", "check_seed"]

LARGE_BUDGET = 100_000
"""A budget above this many evaluations needs ``--allow-large-budget``."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")

_CHECKS: dict[str, tuple[str, Any]] = {
    "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": (
        "a number",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    ),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "None": ("unset", lambda v: v is None),
    "dict": ("a table", lambda v: isinstance(v, Mapping)),
    "Mapping": ("a table", lambda v: isinstance(v, Mapping)),
    "tuple": ("a list", lambda v: isinstance(v, list | tuple)),
    "list": ("a list", lambda v: isinstance(v, list | tuple)),
    "Sequence": ("a list", lambda v: isinstance(v, list | tuple)),
}


def _alternatives(annotation: str) -> list[str]:
    """The top-level ``|`` alternatives of an annotation string."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(annotation):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "|" and depth == 0:
            out.append(annotation[start:i].strip())
            start = i + 1
    return [*out, annotation[start:].strip()]


def check_type(where: str, value: Any, annotation: Any) -> None:
    """Raise when ``value`` does not fit ``annotation`` (a string such as ``"int | None"``);
    annotations naming other classes are not checked."""
    if not isinstance(annotation, str):
        annotation = getattr(annotation, "__name__", str(annotation))
    wanted = []
    for alt in _alternatives(annotation):
        base = alt.split("[", 1)[0].split(".")[-1].strip()
        if base not in _CHECKS:
            return  # a class we cannot check here: its constructor will
        text, ok = _CHECKS[base]
        if ok(value):
            return
        wanted.append(text)
    kinds = " or ".join(dict.fromkeys(w for w in wanted if w != "unset"))
    raise ConfigError(f"{where} must be {kinds}, got {value!r} ({type(value).__name__})")


def check_fields(obj: Any, prefix: str = "") -> None:
    """Check every field of a dataclass instance against its annotation."""
    for f in dataclasses.fields(obj):
        check_type(prefix + f.name, getattr(obj, f.name), f.type)


def check_mapping(where: str, values: Mapping[str, Any], cls: type) -> None:
    """Check a table of settings against the fields of the dataclass ``cls`` (unknown names with
    "did you mean", wrong types)."""
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(unknown_name_message(f"{where} setting", str(key), fields))
        check_type(f"{where}.{key}", value, fields[key])


def check_budget(budget: int, allow_large: bool) -> None:
    """A budget above :data:`LARGE_BUDGET` needs an explicit ``--allow-large-budget``."""
    check_count("budget", budget, 1, 2**62)
    if budget > LARGE_BUDGET and not allow_large:
        raise ConfigError(
            f"--budget {budget} is more than {LARGE_BUDGET:,} instruction evaluations; pass "
            "--allow-large-budget if you really mean it"
        )


def check_env_name(value: Any, flag: str = "--api-key-env") -> None:
    """The *name* of an environment variable; a value that is not a name (perhaps the key
    itself) is refused without being echoed."""
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise ConfigError(
            f"{flag} must be the NAME of an environment variable (letters, digits and _, e.g. "
            "OPENAI_API_KEY), not the key itself; the given value is not shown"
        )


def check_base_url(url: Any, flag: str = "--base-url") -> None:
    """``None`` (OpenAI) or an http(s) URL with a host and a valid port (credentials masked in
    the message)."""
    if url is None:
        return
    from urllib.parse import urlsplit

    from droiz.redact import redact

    shown = redact(str(url))
    try:
        parts = urlsplit(str(url))
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"{flag} {shown!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{flag} must be an http(s) URL such as http://127.0.0.1:8000/v1, got {shown!r}"
        )


def check_backend_options(section: str, cls: type, options: Mapping[str, Any]) -> None:
    """Unknown option names ("did you mean"), option types from the constructor's annotations,
    ``device`` values this torch can use, and ``retry`` tables."""
    params = inspect.signature(cls.__init__).parameters
    names = {n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    takes_any = len(names) < len(params)
    if takes_any and hasattr(cls, "extra_option_names"):
        names |= set(cls.extra_option_names())
        takes_any = False
    names -= {"self", "model", "pool", "cache", "stats"}
    for key, value in options.items():
        where = f"{section}.{key}"
        if key not in names and not takes_any:
            raise ConfigError(unknown_name_message(f"{section} option", key, names))
        if key == "device":
            check_device(where, value)
        elif key == "retry" and isinstance(value, Mapping):
            from droiz.llm import RetryPolicy

            check_mapping(where, value, RetryPolicy)
        elif key in params:
            annotation = params[key].annotation
            if annotation is not inspect.Parameter.empty:
                check_type(where, value, annotation)


def check_device(where: str, value: Any) -> None:
    """A torch device string that this machine's torch can use."""
    import torch

    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a device string such as 'cpu' or 'cuda', got {value!r}")
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise ConfigError(f"{where} = {value!r} is not a torch device (try 'cpu')") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"{where} = {value!r}, but this torch ({torch.__version__}) sees no CUDA device; "
            "use device = 'cpu' or install a CUDA build of torch"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"{where} = {value!r}: no such CUDA device on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{where} = {value!r}, but MPS is not available here; use 'cpu'")


def check_model_name(what: str, name: str) -> None:
    """A Hugging Face model: a packaged model (``smollm2-135m``: its package must be installed),
    an existing local path (a folder or a ``.gguf`` file), a model in the local Hugging Face
    cache, or one the hub knows (asked once, with a short timeout). Nothing is loaded."""
    from droiz.llm.models import PACKAGED, packaged_gguf

    if name in PACKAGED:
        packaged_gguf(name)  # a one-line error with the install command when it is missing
        return
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ConfigError(f"{what}: the GGUF model file {name!r} does not exist")
        return
    if name.startswith(("/", "./", "../", "~")) or path.exists():
        if not path.exists():
            raise ConfigError(
                f"cannot load the {what} model {name!r}: the path does not exist; give a model "
                "directory or a Hugging Face model name"
            )
        return
    if not _HUB_ID.fullmatch(name):
        raise ConfigError(f"{what} {name!r} is neither a local path nor a Hugging Face model id")
    hub = _hub()
    try:
        hub.snapshot_download(name, local_files_only=True)
        return
    except Exception:  # not cached (or a partial cache): ask the hub below
        pass
    offline = any(os.environ.get(v) for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    if offline:
        raise ConfigError(
            f"{what} {name!r} is not a local path and not in the Hugging Face cache (offline mode)"
        )
    try:
        hub.model_info(name, timeout=10)
    except hub.errors.RepositoryNotFoundError:
        raise ConfigError(f"{what} {name!r}: no such model on the Hugging Face hub") from None
    except Exception as exc:
        raise ConfigError(
            f"{what} {name!r} is not a local path, not in the Hugging Face cache, and the hub "
            f"cannot be asked ({type(exc).__name__}); download it or give a local path"
        ) from None


def _hub() -> Any:
    from droiz._imports import require

    return require("huggingface_hub", "hf")


def check_names(flag: str, names: Sequence[str]) -> None:
    """A comma-separated list with no empty or repeated item."""
    if not names or any(not n for n in names):
        raise ConfigError(f"{flag} has an empty name; give comma-separated names, e.g. clean,case")
    if len(set(names)) != len(names):
        raise ConfigError(f"{flag} names a group twice: {','.join(names)}")
