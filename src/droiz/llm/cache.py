"""A SQLite cache of LLM answers and generated instructions, shared across runs.

One file, ``droiz-cache.sqlite3``, in the user cache directory
(``platformdirs.user_cache_dir("droiz")``) unless ``cache_dir`` or ``DROIZ_CACHE_DIR`` says
otherwise. The database runs in WAL mode with a busy timeout, so several runs (processes) can read
and write it at once; every value is committed as soon as it is stored. Keys are sha256 hashes of
sorted-key JSON of exactly what determines the output (see :func:`response_key` and
:func:`instruction_key`); no secret or URL is ever part of a key or a stored record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from droiz.exceptions import ConfigError

logger = logging.getLogger(__name__)

CACHE_ENV = "DROIZ_CACHE_DIR"
CACHE_FILENAME = "droiz-cache.sqlite3"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
)
"""


def default_cache_dir() -> Path:
    """``$DROIZ_CACHE_DIR`` if set, else the platform's user cache directory for droiz."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("droiz"))


def endpoint_namespace(base_url: str | None) -> str:
    """The default cache namespace of an endpoint: a hash of its host and port only.

    Two servers that both call their model ``default`` get different namespaces; the path, the
    scheme and any credentials in the URL do not enter it. ``None`` means OpenAI's own endpoint.

    Example:
        >>> endpoint_namespace("http://127.0.0.1:8000/v1") == endpoint_namespace("http://127.0.0.1:8000")
        True
    """
    parts = urlsplit(base_url or OPENAI_DEFAULT_URL)
    if not parts.hostname:
        raise ConfigError(
            f"base URL {base_url!r} has no host; expected e.g. http://127.0.0.1:8000/v1"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return hashlib.sha256(f"{parts.hostname.lower()}:{port}".encode()).hexdigest()[:16]


def hash_key(payload: Mapping[str, Any]) -> str:
    """sha256 of the sorted-key JSON of ``payload``."""
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def response_key(fingerprint: str, prompt: str, sample: int | None = None) -> str:
    """Cache key of one answer: executor fingerprint (model, namespace, params), prompt, sample."""
    return hash_key({"kind": "response", "fp": fingerprint, "prompt": prompt, "sample": sample})


def instruction_key(fingerprint: str, demos: Sequence[tuple[str, str]], z_row: bytes) -> str:
    """Cache key of one generated instruction: generator fingerprint, demos and ``z``'s exact bytes.

    Args:
        fingerprint: The generator's fingerprint.
        demos: The demos shown to the generator.
        z_row: The float64 bytes of one row of ``z`` (``z[i].numpy().tobytes()``).
    """
    payload = {"kind": "instruction", "fp": fingerprint, "demos": [list(d) for d in demos]}
    payload["z"] = z_row.hex()
    return hash_key(payload)


def _retry_locked(step: Any, deadline: float) -> Any:
    """Run ``step``, retrying while another process holds the database (switching a new
    database to WAL mode can report "locked" without waiting on the busy timeout)."""
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class ResponseCache:
    """SQLite key-value store for answers (``kind="response"``) and instructions.

    Args:
        cache_dir: Directory of the database; defaults to :func:`default_cache_dir`.
        filename: Database file name inside ``cache_dir``.
        timeout: Seconds to wait for another writer's lock before failing.
    """

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        *,
        filename: str = CACHE_FILENAME,
        timeout: float = 60.0,
    ) -> None:
        directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / filename
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        deadline = time.monotonic() + timeout
        for sql in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", _SCHEMA):
            _retry_locked(lambda sql=sql: self._conn.execute(sql), deadline)

    def __repr__(self) -> str:
        return f"ResponseCache(path={str(self.path)!r})"

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """The stored values of those ``keys`` that are present."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT key, value FROM entries WHERE key IN ({marks})"
                found.update(self._conn.execute(sql, chunk).fetchall())
        return found

    def put(
        self, key: str, value: str, *, kind: str = "response", meta: Mapping | None = None
    ) -> None:
        """Store ``value`` under ``key`` and commit at once.

        Args:
            key: A key from :func:`response_key` or :func:`instruction_key`.
            value: The answer or instruction text.
            kind: ``"response"`` or ``"instruction"`` (for inspection and :meth:`count`).
            meta: Small JSON-serialisable facts (model name, token usage); never secrets.
        """
        row = (key, kind, value, json.dumps(dict(meta or {}), sort_keys=True), time.time())
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", row)

    def count(self, kind: str | None = None) -> int:
        """Number of stored entries, of one ``kind`` or of all."""
        sql, args = "SELECT COUNT(*) FROM entries", ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
