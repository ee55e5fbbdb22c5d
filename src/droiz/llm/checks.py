"""Checks of back-end settings, run before any model is loaded or any endpoint is probed.

Every failure is a one-line :class:`~droiz.exceptions.ConfigError` naming the option or flag:
option names of a generator or executor class ("did you mean"), option types from its
constructor's annotations, devices this torch cannot use, and model names that exist neither
locally nor on the Hugging Face hub.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from droiz.exceptions import ConfigError
from droiz.llm.retry import RetryPolicy
from droiz.redact import is_secret_name, redact_url
from droiz.registry import unknown_name_message
from droiz.validate import check_mapping, check_type, type_hints

if TYPE_CHECKING:
    from droiz.llm.base import Backend

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
_CREDENTIAL = re.compile(r"(?i)\s*(bearer|basic)\s+\S")


def constructor_options(cls: type[Backend]) -> tuple[set[str], bool]:
    """The keyword options the constructor of ``cls`` takes, without ``self`` and the spec value
    (its first parameter), and whether it takes any other name too (``**kwargs``, unless the
    class lists what they may be with ``extra_option_names()``)."""
    params = list(inspect.signature(cls.__init__).parameters.values())
    names = {p.name for p in params[2:] if p.kind is not inspect.Parameter.VAR_KEYWORD}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    if takes_any and hasattr(cls, "extra_option_names"):
        names |= set(cls.extra_option_names())
        takes_any = False
    return names, takes_any


def check_backend_options(section: str, cls: type[Backend], options: Mapping[str, Any]) -> None:
    """Unknown option names ("did you mean"), option types from the constructor's annotations,
    ``device`` values this torch can use, and ``retry`` tables."""
    check_no_secrets(section, options)
    hints = type_hints(cls.__init__)
    names, takes_any = constructor_options(cls)
    names -= {"cache", "stats"}  # set by droiz, not by a user
    for key, value in options.items():
        where = f"{section}.{key}"
        if key not in names and not takes_any:
            raise ConfigError(unknown_name_message(f"{section} option", key, names))
        if key == "device":
            check_device(where, value)
        elif key == "retry" and isinstance(value, Mapping):
            check_mapping(where, value, RetryPolicy)
        elif key in hints:
            check_type(where, value, hints[key])


def check_no_secrets(where: str, value: object) -> None:
    """No secret at any depth of an options table: no text under a name like a key
    (``api_key``, ``token``, ``Authorization``, see :func:`droiz.redact.is_secret_name`; a name
    ending in ``_env`` names a variable and is fine), no ``Bearer``/``Basic`` credential and no
    URL with credentials (user-info, a query parameter named like a key) as a value. Options
    are saved in ``config.json`` and the journal, so a key given there would be written in
    clear: it is refused (as a top-level ``api_key`` is) rather than masked, since a masked key
    could not be sent on resume."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            if isinstance(item, str) and is_secret_name(name) and not name.endswith("_env"):
                raise ConfigError(
                    f"{where}.{key} looks like a secret, and options are saved in the run's "
                    "files; put the API key in an environment variable and name it with "
                    "--api-key-env (or api_key_env)"
                )
            check_no_secrets(f"{where}.{key}", item)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_no_secrets(f"{where}[{i}]", item)
    elif isinstance(value, str) and _CREDENTIAL.match(value):
        raise ConfigError(
            f"{where} holds a credential ({value.split()[0]} ...), and options are saved in the "
            "run's files; put the API key in an environment variable and name it with "
            "--api-key-env"
        )
    elif isinstance(value, str) and "://" in value and redact_url(value) != value:
        raise ConfigError(
            f"{where} holds a URL with credentials ({redact_url(value)}), and options are saved "
            "in the run's files; give the endpoint with --base-url and the key in an "
            "environment variable named with --api-key-env"
        )


def check_device(where: str, value: object) -> None:
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
    pending = _HUB_QUESTIONS.get()
    if pending is not None:  # inside hub_asked_last(): asked after the block's local checks
        pending.append((what, name))
        return
    _ask_hub(what, name)


_HUB_QUESTIONS: ContextVar[list[tuple[str, str]] | None] = ContextVar("hub", default=None)


@contextmanager
def hub_asked_last() -> Iterator[None]:
    """Leave the hub's questions of :func:`check_model_name` (a model neither local nor in the
    cache) to the end of the block, so that every local check in it comes first."""
    pending: list[tuple[str, str]] = []
    token = _HUB_QUESTIONS.set(pending)
    try:
        yield
    finally:
        _HUB_QUESTIONS.reset(token)
    for what, name in pending:
        _ask_hub(what, name)


def _ask_hub(what: str, name: str) -> None:
    """Whether the Hugging Face hub knows the model ``name`` (a short timeout)."""
    hub = _hub()
    try:
        hub.model_info(name, timeout=10)
    except hub.errors.RepositoryNotFoundError:
        raise ConfigError(f"{what} {name!r}: no such model on the Hugging Face hub") from None
    except Exception as exc:
        raise ConfigError(
            f"{what} {name!r} is not a local path, not in the Hugging Face cache, and the hub "
            f"cannot be asked ({type(exc).__name__}); download it or give a local path"
        ) from None


def _hub() -> ModuleType:
    from droiz._imports import require

    return require("huggingface_hub", "hf")
