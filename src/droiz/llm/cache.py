"""A SQLite cache of LLM answers and generated instructions, shared across runs.

One file, ``droiz-cache.sqlite3``, in the user cache directory
(``platformdirs.user_cache_dir("droiz")``) unless ``cache_dir`` or ``DROIZ_CACHE_DIR`` says
otherwise. The database runs in WAL mode with a busy timeout, so several runs (processes) can read
and write it at once; every value is committed as soon as it is stored. Keys are sha256 hashes of
sorted-key JSON of exactly what determines the output (see :func:`response_key` and
:func:`instruction_key`); no secret or URL is ever part of a key or a stored record.

Requests in flight are coordinated across processes by leases (table ``leases``): before a
request is sent, its key is leased (:meth:`ResponseCache.claim`) to this cache object, recorded
with its process id, host and an expiry that a heartbeat thread pushes forward every
:data:`LEASE_TTL` / 3 seconds. Another process that needs the same key waits for the answer
instead of sending the request again; it takes the lease over when the owner has died (its
process id is gone on the same host) or the lease has expired (a host that does not answer), and
when the owner released it without an answer (its request failed). Storing the answer
(:meth:`ResponseCache.put`) releases the lease in the same transaction.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from droiz.exceptions import ConfigError

logger = logging.getLogger(__name__)
T = TypeVar("T")

CACHE_ENV = "DROIZ_CACHE_DIR"
CACHE_FILENAME = "droiz-cache.sqlite3"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"

LEASE_TTL = 30.0
"""Seconds a lease lasts without a heartbeat of its owner (which renews it every third of this):
how long others wait on an owner that no longer answers, on a host where its process cannot be
looked up."""
HOST = socket.gethostname()
Lease = tuple[str, int, str, float]
"""A lease row: owner, pid, host, expiry time."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    expires REAL NOT NULL
)""",
)


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


@dataclass(frozen=True)
class Claim:
    """What :meth:`ResponseCache.claim` found for some keys.

    Attributes:
        found: Keys answered meanwhile, with their values.
        mine: Keys leased to this cache now: send their requests (storing an answer releases its
            lease; :meth:`ResponseCache.release` gives back the others).
        waiting: Keys leased by another live owner: wait for their answers.
    """

    found: dict[str, str] = field(default_factory=dict)
    mine: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def process_alive(pid: int) -> bool:
    """Whether the process ``pid`` of this host still runs (a zombie does not). Where that
    cannot be told (not POSIX), ``True``: its leases then end by expiry."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    try:  # Linux: a killed process its parent has not reaped yet is a zombie
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _retry_locked(step: Callable[[], T], deadline: float) -> T:
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
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        filename: str = CACHE_FILENAME,
        timeout: float = 60.0,
    ) -> None:
        directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / filename
        self.owner = uuid.uuid4().hex  # the leases of this object (a process may hold several)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        deadline = time.monotonic() + timeout
        for sql in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", *_SCHEMA):
            _retry_locked(functools.partial(self._conn.execute, sql), deadline)

    def __repr__(self) -> str:
        return f"ResponseCache(path={str(self.path)!r})"

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """The stored values of those ``keys`` that are present."""
        with self._lock:
            return dict(self._select("SELECT key, value FROM entries", list(keys)))

    def _select(self, sql: str, keys: Sequence[str]) -> list[Any]:
        """Rows of ``sql WHERE key IN keys``, 500 keys a query (under ``self._lock``)."""
        keys = list(dict.fromkeys(keys))
        rows: list[Any] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self._conn.execute(f"{sql} WHERE key IN ({marks})", chunk).fetchall()
        return rows

    def claim(self, keys: Iterable[str]) -> Claim:
        """Lease the ``keys`` that are neither answered nor leased by a live owner (see the module
        docstring), in one transaction; an expired lease or one of a dead process is taken over.
        """
        keys = list(dict.fromkeys(keys))
        now, pid = time.time(), os.getpid()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                found = dict(self._select("SELECT key, value FROM entries", keys))
                rest = [k for k in keys if k not in found]
                sql = "SELECT key, owner, pid, host, expires FROM leases"
                leases: dict[str, Lease] = {row[0]: row[1:] for row in self._select(sql, rest)}
                mine = [k for k in rest if k not in leases or self._dead(*leases[k], now)]
                rows = [(k, self.owner, pid, HOST, now + LEASE_TTL) for k in mine]
                self._conn.executemany("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        if mine:
            self._beat()
        return Claim(found, mine, [k for k in rest if k not in mine])

    def claimable(self, keys: Iterable[str]) -> bool:
        """Whether :meth:`claim` would lease one of ``keys`` now (its lease is gone, expired or
        held by a dead process); a read, so that waiting does not take the write lock."""
        keys, now = list(keys), time.time()
        with self._lock:
            rows = self._select("SELECT key, owner, pid, host, expires FROM leases", keys)
        leases: dict[str, Lease] = {row[0]: row[1:] for row in rows}
        return any(k not in leases or self._dead(*leases[k], now) for k in keys)

    def release(self, keys: Iterable[str]) -> None:
        """Give back this cache's leases on ``keys`` (those not answered: others may send them)."""
        keys = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"DELETE FROM leases WHERE owner = ? AND key IN ({marks})"
                self._conn.execute(sql, [self.owner, *chunk])

    def _dead(self, owner: str, pid: int, host: str, expires: float, now: float) -> bool:
        """Whether a lease can be taken over: expired, or held by a process of this host that
        is gone (this object's own leases are held by another of its threads: never dead)."""
        if owner == self.owner:
            return False
        return expires < now or (host == HOST and pid != os.getpid() and not process_alive(pid))

    def _beat(self) -> None:
        """Start the heartbeat thread that renews this cache's leases (once)."""
        with self._lock:
            if self._heartbeat is not None or self._closed.is_set():
                return
            self._heartbeat = threading.Thread(
                target=self._renew, name="droiz-cache-leases", daemon=True
            )
            self._heartbeat.start()

    def _renew(self) -> None:
        while not self._closed.wait(LEASE_TTL / 3):
            try:
                with self._lock:
                    sql = "UPDATE leases SET expires = ? WHERE owner = ?"
                    self._conn.execute(sql, (time.time() + LEASE_TTL, self.owner))
            except sqlite3.Error as exc:  # busy for longer than the timeout: try again later
                logger.debug("cache %s: renewing leases failed (%s)", self.path, exc)

    def put(
        self,
        key: str,
        value: str,
        *,
        kind: str = "response",
        meta: Mapping[str, object] | None = None,
    ) -> None:
        """Store ``value`` under ``key`` and release this cache's lease on it, in one transaction
        committed at once.

        Args:
            key: A key from :func:`response_key` or :func:`instruction_key`.
            value: The answer or instruction text.
            kind: ``"response"`` or ``"instruction"`` (for inspection and :meth:`count`).
            meta: Small JSON-serialisable facts (model name, token usage); never secrets.
        """
        row = (key, kind, value, json.dumps(dict(meta or {}), sort_keys=True), time.time())
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", row)
                sql = "DELETE FROM leases WHERE key = ? AND owner = ?"
                self._conn.execute(sql, (key, self.owner))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def count(self, kind: str | None = None) -> int:
        """Number of stored entries, of one ``kind`` or of all."""
        sql, args = "SELECT COUNT(*) FROM entries", tuple[str, ...]()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    def close(self) -> None:
        """Give back this cache's leases, stop their heartbeat and close the database."""
        self._closed.set()
        with self._lock:
            with contextlib.suppress(sqlite3.Error):  # closed already, or busy: they expire
                self._conn.execute("DELETE FROM leases WHERE owner = ?", (self.owner,))
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
