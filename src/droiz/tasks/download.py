"""``droiz data download``: fetch the benchmark files from their public upstream paths.

Each file of a data directory maps to a path in a pinned upstream commit:

- ``instruction-induction/...`` -> ``orhonovich/instruction-induction@f7304ae`` ``data/...``
- ``instructzero-extra/...`` -> ``Lichang-Chen/InstructZero@911f019``
  ``InstructZero/experiments/data/instruction_induction/...``
- ``bigbench-ii/...`` -> ``keirp/automatic_prompt_engineer@eac521c`` ``data/bigbench-ii/...``

URLs are ``{base_url}/{owner}/{repo}/{commit}/{path}`` (the raw.githubusercontent.com layout; a
mirror with the same layout can be given as ``base_url``). Every file is written to a ``.part``
file while its SHA-256 is computed and moved into place only if the sum matches; a mismatch
deletes it and raises a :class:`DataError`.

The known sums ship with droiz as the package data file ``droiz/tasks/SHA256SUMS``, in the
format of ``sha256sum`` (``<hex digest>  ./<path relative to the data directory>``); a download
writes the same file beside the data.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from droiz.exceptions import DataError
from droiz.tasks.datadir import default_download_dir

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
UPSTREAMS: dict[str, tuple[str, str, str]] = {
    "instruction-induction/": (
        "orhonovich/instruction-induction",
        "f7304ae0a35239c9819a08f93fd58426f6b4e4c1",
        "data/",
    ),
    "instructzero-extra/": (
        "Lichang-Chen/InstructZero",
        "911f01912bb5fd4fadff22db080f75aab47ec6ab",
        "InstructZero/experiments/data/instruction_induction/",
    ),
    "bigbench-ii/": (
        "keirp/automatic_prompt_engineer",
        "eac521c79a78965245ce7745dcc9f6b0792c7ec7",
        "data/bigbench-ii/",
    ),
}
"""Local prefix -> (GitHub repository, commit, upstream prefix)."""

SUMS_NAME = "SHA256SUMS"
"""The name of the checksum file, in the package and in a downloaded data directory."""

_CHUNK = 1 << 16

__all__ = [
    "DEFAULT_BASE_URL",
    "SUMS_NAME",
    "UPSTREAMS",
    "DownloadResult",
    "download",
    "known_sums",
    "upstream_url",
    "verify",
]


def _sums_text() -> str:
    return files("droiz.tasks").joinpath(SUMS_NAME).read_text(encoding="utf-8")


def known_sums() -> dict[str, str]:
    """``{path relative to a data directory: SHA-256 hex digest}`` of every benchmark file."""
    sums = {}
    for line in _sums_text().splitlines():
        digest, path = line.split(maxsplit=1)
        sums[path.removeprefix("./")] = digest
    return sums


@dataclass(frozen=True)
class DownloadResult:
    """What :func:`download` did.

    Attributes:
        dest: The data directory written.
        fetched: Number of files downloaded and verified.
        present: Number of files already present with the right checksum (not fetched again).
        bytes: Bytes downloaded.
    """

    dest: Path
    fetched: int
    present: int
    bytes: int


def upstream_url(path: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """The URL of a data file (``path`` relative to a data directory)."""
    for prefix, (repo, commit, upstream) in UPSTREAMS.items():
        if path.startswith(prefix):
            remote = upstream + path[len(prefix) :]
            return f"{base_url.rstrip('/')}/{repo}/{commit}/{urllib.parse.quote(remote)}"
    raise DataError(f"no upstream location for data file {path!r}")


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    dest: str | os.PathLike[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    *,
    timeout: float = 60.0,
) -> DownloadResult:
    """Download every benchmark file into ``dest`` and verify it against the known SHA-256 sums.

    Files already present with the right sum are kept; a present file with a wrong sum is
    deleted and fetched again. On a checksum mismatch the downloaded file is deleted and a
    :class:`DataError` is raised (files verified before it stay).

    Args:
        dest: Target data directory (default :func:`default_download_dir`).
        base_url: Where the ``{owner}/{repo}/{commit}/{path}`` tree is served.
        timeout: Seconds to wait for each connection.
    """
    root = Path(dest).expanduser() if dest is not None else default_download_dir()
    fetched = present = size = 0
    for rel, expected in sorted(known_sums().items()):
        target = root / rel
        if target.is_file():
            if file_sha256(target) == expected:
                present += 1
                continue
            logger.info("%s: wrong checksum, fetching it again", target)
            target.unlink()
        size += _fetch(upstream_url(rel, base_url), target, expected, timeout)
        fetched += 1
    _write_sums(root)
    return DownloadResult(root, fetched, present, size)


def _fetch(url: str, target: Path, expected: str, timeout: float) -> int:
    """Stream ``url`` into ``target`` if its SHA-256 is ``expected``; return the byte count."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    logger.info("fetching %s", url)
    try:
        got, size = _stream(url, part, timeout)
        if got != expected:
            raise DataError(
                f"{url}: checksum mismatch for {target.name} (expected sha256 "
                f"{expected[:16]}..., got {got[:16]}...); the file was refused and deleted"
            )
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
    return size


def _stream(url: str, part: Path, timeout: float) -> tuple[str, int]:
    """Write ``url`` to ``part``; return its SHA-256 hex digest and size."""
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: HTTP error {exc.code} ({exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"{url}: download failed ({reason}); try --base-url for a mirror") from None
    return digest.hexdigest(), size


def _write_sums(root: Path) -> None:
    (root / SUMS_NAME).write_text(_sums_text(), encoding="utf-8")


def verify(data_dir: str | os.PathLike[str]) -> list[str]:
    """Check a data directory against the known sums.

    Returns:
        One line per problem (missing file or wrong checksum); empty if all files are right.
    """
    root = Path(data_dir)
    problems = []
    for rel, expected in sorted(known_sums().items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif file_sha256(path) != expected:
            problems.append(f"{path}: checksum mismatch")
    return problems
