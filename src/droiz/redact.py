"""Keep API keys out of everything droiz writes or prints.

Three layers:

* :func:`redact_url` masks the credentials of a URL (``user:key@host`` and secret-looking query
  parameters such as ``?api_key=sk-...``) before it is stored in ``config.json``, the journal or
  ``report.md``, or shown in a message; the masked values are also registered as secrets;
* :func:`register_secret` / :func:`register_env_secret` record the literal secrets of this
  process (the value of the ``--api-key-env`` variable, credentials found in URLs) with their
  percent-encoded and base64 forms (a ``Basic`` header is ``base64(user:password)``);
  :func:`redact_known` replaces them, and :func:`redact` also scrubs anything that looks like a
  credential (URL user-info, ``Bearer`` and ``Basic`` values, ``sk-...`` keys, ``api_key=...``);
* :class:`RedactingFilter`, installed by :func:`protect_logs` on the loggers of the HTTP stack
  (``httpx``, ``httpcore``, ``openai``) and on the root logger's handlers, applies :func:`redact`
  to every log record at any verbosity.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

MASK = "***"
_CORE_PARTS = ("connection", "http11", "http2", "proxy", "socks")
HTTP_PACKAGES = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "urllib3")
"""Top-level packages of the HTTP stack, whose loggers can print request URLs or headers."""
HTTP_LOGGERS = (
    "httpx",
    "httpx2",
    *(f"{core}.{part}" for core in ("httpcore", "httpcore2") for part in _CORE_PARTS),
    "openai",
    "openai._base_client",
    "openai._response",
    "openai._legacy_response",
    "urllib3.connectionpool",
)
"""The loggers of the HTTP stack that log records themselves (a filter on a logger does not see
its children's records)."""

SECRET_WORDS = frozenset(
    {"key", "apikey", "token", "secret", "password", "passwd", "pwd", "auth", "authorization"}
    | {"signature", "sig", "credential", "credentials", "cookie"}
)
"""Words that make a name (a query parameter, an option, a header) name a secret."""
_PATTERNS = (
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@"), rf"\1{MASK}@"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {MASK}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"), f"sk-{MASK}"),
    (
        re.compile(r"(?i)([?&;\s\"'](?:[a-z_-]*(?:key|token|secret|password|sig))=)[^&\s\"'<>]+"),
        rf"\1{MASK}",
    ),
)
_MIN_SECRET = 4  # shorter values would mask ordinary text

_lock = threading.Lock()
_secrets: set[str] = set()


def is_secret_name(name: str) -> bool:
    """Whether ``name`` names a secret: one of its words (split at anything but letters and
    digits and between camelCase humps, any case) is in :data:`SECRET_WORDS` (``api_key``,
    ``api-key``, ``apiKey``, ``key``, ``access_token``, ``X-Amz-Signature``, ``Authorization``;
    not ``max_tokens``)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name)).lower()
    return any(word in SECRET_WORDS for word in re.split(r"[^a-z0-9]+", words))


def register_secret(value: str | None) -> None:
    """Remember ``value`` as a secret of this process (ignored when empty or very short), with
    its percent-encoded and base64 forms (a ``Basic`` header carries ``user:password`` in
    base64, and a server may echo it)."""
    if value and len(value) >= _MIN_SECRET:
        raw = value.encode()
        forms = {value, quote(value, safe="")}
        forms |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
        with _lock:
            _secrets.update(forms)
            _secrets.update(f.rstrip("=") for f in list(forms) if len(f.rstrip("=")) >= _MIN_SECRET)


def register_env_secret(name: str | None) -> None:
    """Remember the value of the environment variable ``name`` (an API key) as a secret."""
    if name:
        register_secret(os.environ.get(name))


def redact_known(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (nothing else changes)."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: str) -> str:
    """``text`` with registered secrets and anything credential-like masked."""
    text = redact_known(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str | None) -> str | None:
    """``url`` with its user-info replaced by ``***@`` and the values of secret-looking query
    parameters (``api_key``, ``token``, ``sig``, ...) by ``***``; the masked values are
    registered as secrets."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        _, _, password = userinfo.partition(":")  # a user name alone is no secret
        for piece in (userinfo, password, unquote(userinfo), unquote(password)):
            register_secret(piece)
        netloc = f"{MASK}@{host}"
    query = parts.query
    if query:
        pieces = []
        for name, value in parse_qsl(query, keep_blank_values=True):
            if value and is_secret_name(name):
                register_secret(value)
                value = MASK
            pieces.append(f"{name}={value}" if value or "=" in query else name)
        query = "&".join(pieces)
    if netloc == parts.netloc and query == parts.query:  # nothing masked: keep it verbatim
        return url  # (urlunsplit would turn sqlite:////abs/path into sqlite://abs/path)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class RedactingFilter(logging.Filter):
    """Applies :func:`redact` to a record's message (and its formatted exception)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's error path
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()


def protect_logs() -> None:
    """Install :class:`RedactingFilter` on the HTTP stack's loggers and the root handlers
    (idempotent)."""
    targets: list[logging.Filterer] = [logging.getLogger(n) for n in HTTP_LOGGERS]
    targets += logging.getLogger().handlers
    for target in targets:
        target.addFilter(_FILTER)  # a no-op when it is already there
