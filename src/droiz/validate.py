"""Light checks of plain inputs (seeds, counts, paths, values against type hints), importable
without torch.

Every failure is a one-line :class:`~droiz.exceptions.ConfigError` naming the flag.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError
from droiz.registry import unknown_name_message

MAX_SEED = 2**63
MAX_COUNT = 10_000_000
"""The largest value a count setting may take (the budget has its own cap)."""
MAX_WORKERS = 64
"""The most processes a command runs at once (``--workers``); never more than it has runs."""
MAX_SEEDS = 10_000
"""The most seeds a benchmark or demo runs (``--seeds N``: seeds 0..N-1)."""
MAX_NESTING = 32
"""How deep a config file may nest tables and lists (the top-level table is level 1)."""
MAX_LINE_BYTES = 10_000
"""The longest line of a task file or an instruction pool (UTF-8 bytes)."""


def nesting(value: Any) -> int:
    """How deep ``value`` nests tables and lists (a scalar: 0), computed without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_line_length(where: str, line: str) -> None:
    """A line of a task file or a pool is at most :data:`MAX_LINE_BYTES` long."""
    size = len(line.encode("utf-8", errors="replace"))
    if size > MAX_LINE_BYTES:
        raise ConfigError(
            f"{where} is {size:,} bytes long; a line may hold at most {MAX_LINE_BYTES:,} bytes "
            "(one example or one instruction)"
        )


def read_input(path: Path, what: str) -> bytes:
    """The bytes of the input file ``path`` (``what`` names it in the message: "the config
    file"). A directory, a named pipe (it would block until a writer comes) or a device is
    refused before it is opened, as is a file that cannot be read."""
    if path.exists() and not path.is_file():
        raise ConfigError(f"cannot read {what} {str(path)!r}: not a regular file")
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot read {what} {str(path)!r}: {reason}") from None


def read_input_text(path: Path, what: str) -> str:
    """The text of the input file ``path`` (:func:`read_input`), which must be UTF-8."""
    try:
        return read_input(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read {what} {str(path)!r}: it is not UTF-8 text") from None


def check_seed(value: object, flag: str = "--seed") -> None:
    """Seeds are integers in ``[0, 2**63)``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_SEED:
        raise ConfigError(f"{flag} must be an integer in [0, 2**63), got {value!r}")


def check_count(name: str, value: object, minimum: int = 1, maximum: int = MAX_COUNT) -> None:
    """An integer count in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}")


def check_positive_number(flag: str, value: object, maximum: float = math.inf) -> None:
    """A finite number in ``(0, maximum]``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= maximum
    ):
        raise ConfigError(f"{flag} must be a number in (0, {maximum:g}], got {value!r}")


PSEUDO_FILE_SYSTEMS = ("/proc", "/sys")
"""Kernel file systems: never an output (as root their files can be written, and mean things)."""


def check_dir_path(path: str | os.PathLike[str] | None, flag: str) -> Path:
    """A directory that exists or can be created and written: not ``''``, not a file, not below
    a file, not in a kernel file system, and its first existing ancestor proven writable (a
    nameless temporary file is created there: ``os.access`` says yes to root everywhere)."""
    if path is None or not os.fspath(path).strip():
        raise ConfigError(f"{flag} is empty; give a directory")
    target = Path(os.fspath(path)).expanduser()
    _check_not_pseudo(target, flag)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{flag} {str(target)!r} is a file, not a directory")
    _check_ancestors(target, flag)
    return target


def check_file_path(path: str | os.PathLike[str] | None, flag: str) -> Path:
    """A file that can be written: not ``''``, not a directory or another non-regular file (a
    device, a pipe), not below a file, not in a kernel file system, its directory's first
    existing ancestor proven writable (see :func:`check_dir_path`)."""
    if path is None or not os.fspath(path).strip():
        raise ConfigError(f"{flag} is empty; give a file name")
    target = Path(os.fspath(path)).expanduser()
    _check_not_pseudo(target, flag)
    if target.is_dir():
        raise ConfigError(f"{flag} {str(target)!r} is a directory; give a file name")
    if target.exists() and not target.is_file():
        raise ConfigError(f"{flag} {str(target)!r} is not a regular file (a device or a pipe)")
    _check_ancestors(target.parent if str(target.parent) else Path("."), flag, target)
    return target


def _check_not_pseudo(target: Path, flag: str) -> None:
    resolved = str(target.resolve())
    for root in PSEUDO_FILE_SYSTEMS:
        if resolved == root or resolved.startswith(root + "/"):
            raise ConfigError(
                f"{flag} {str(target)!r} lies in {root}, a kernel file system; give a path on a "
                "disk"
            )


def _check_ancestors(directory: Path, flag: str, shown: Path | None = None) -> None:
    shown = shown or directory
    ancestor = directory
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise ConfigError(f"{flag} {str(shown)!r} lies below the file {str(ancestor)!r}")
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"{flag} {str(shown)!r}: cannot write in {str(ancestor)!r} ({reason})"
        ) from None


@dataclass
class Claim:
    """An output proven writable by creating it (:func:`claim_file`, :func:`claim_dir`).

    Attributes:
        path: The output. created: What the claim created (the output, its missing parent
            directories), removed by :meth:`release`.
    """

    path: Path
    created: list[Path] = field(default_factory=list)

    def release(self) -> None:
        """Remove what the claim created (the command failed: it leaves nothing behind)."""
        for path in reversed(self.created):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self.created = []


def _make_dirs(directory: Path, flag: str, claim: Claim) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except OSError as exc:
            claim.release()
            raise ConfigError(
                f"{flag} {str(claim.path)!r}: cannot create {str(path)!r} "
                f"({exc.strerror or type(exc).__name__})"
            ) from None
        claim.created.append(path)


def claim_file(path: str | os.PathLike[str] | None, flag: str) -> Claim:
    """Prove the output file ``path`` writable by creating it (and its directory), before any
    work: a new file is created empty, an existing one opened for appending and left as it is.
    :meth:`Claim.release` removes what was created (see :func:`claimed`)."""
    target = check_file_path(path, flag)
    claim = Claim(target)
    _make_dirs(target.parent if str(target.parent) else Path("."), flag, claim)
    exists = target.exists()
    try:  # an existing file is opened for appending: proven writable, left as it is
        flags = os.O_WRONLY | (os.O_APPEND if exists else os.O_CREAT | os.O_EXCL)
        os.close(os.open(target, flags, 0o666))
    except OSError as exc:
        claim.release()
        raise ConfigError(f"{flag} {str(target)!r} cannot be written ({exc.strerror})") from None
    if not exists:
        claim.created.append(target)
    return claim


def claim_dir(path: str | os.PathLike[str] | None, flag: str) -> Claim:
    """Prove the output directory ``path`` writable by creating it (a nameless temporary file is
    created in it too). :meth:`Claim.release` removes it if it was created here."""
    target = check_dir_path(path, flag)
    claim = Claim(target)
    _make_dirs(target, flag, claim)
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as exc:
        claim.release()
        raise ConfigError(f"{flag} {str(target)!r} cannot be written ({exc.strerror})") from None
    return claim


@contextmanager
def claimed(*claims: Claim | None) -> Iterator[None]:
    """Release ``claims`` (remove the outputs they created) if the body raises."""
    try:
        yield
    except BaseException:
        for claim in claims:
            if claim is not None:
                claim.release()
        raise


_KINDS: dict[Any, tuple[str, Callable[[Any], bool]]] = {
    int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: (
        "a number",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    ),
    str: ("a string", lambda v: isinstance(v, str)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    type(None): ("unset", lambda v: v is None),
    dict: ("a table", lambda v: isinstance(v, Mapping)),
    Mapping: ("a table", lambda v: isinstance(v, Mapping)),
    list: ("a list", lambda v: isinstance(v, list | tuple)),
    tuple: ("a list", lambda v: isinstance(v, list | tuple)),
    Sequence: ("a list", lambda v: isinstance(v, list | tuple)),
}


def check_type(where: str, value: object, hint: object) -> None:
    """Raise when ``value`` does not fit the type hint ``hint`` (a real one, such as
    ``int | None`` or ``dict[str, Any]``, as :func:`type_hints` resolves them): numbers, strings,
    booleans, ``None``, tables and lists, and unions of them. A ``bool`` is not an integer.
    Hints naming other classes are not checked (their constructors check)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    wanted = []
    for alternative in typing.get_args(hint) if union else (hint,):
        kind = _KINDS.get(typing.get_origin(alternative) or alternative)
        if kind is None:
            return  # a class we cannot check here (or Any)
        text, ok = kind
        if ok(value):
            return
        wanted.append(text)
    kinds = " or ".join(dict.fromkeys(w for w in wanted if w != "unset"))
    raise ConfigError(f"{where} must be {kinds}, got {value!r} ({type(value).__name__})")


def type_hints(obj: object) -> dict[str, Any]:
    """The resolved type hints of a class or function (``typing.get_type_hints``; ``{}`` when
    they cannot be resolved, as for a plugin's class whose annotations name what it imports only
    to type-check)."""
    try:
        return typing.get_type_hints(obj)
    except Exception:
        return {}


def check_mapping(where: str, values: Mapping[str, Any], cls: type) -> None:
    """Check a table of settings against the fields of the dataclass ``cls`` (unknown names with
    "did you mean", wrong types)."""
    fields = type_hints(cls) or {f.name: Any for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(unknown_name_message(f"{where} setting", str(key), fields))
        check_type(f"{where}.{key}", value, fields[key])
