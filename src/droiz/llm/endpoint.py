"""An endpoint's base URL, taken apart once: where requests go, and the credentials in it.

``http://user:KEY@host:8000/v1?api_key=KEY`` is split into the URL the client is given
(``http://host:8000/v1``: scheme, host, port and path), the query parameters sent with every
request (the SDK's ``default_query``, so that the path ``/v1/chat/completions`` is kept) and the
user-info, which becomes the HTTP client's Basic auth. Credentials never stay in a URL that is
shown, logged or stored: :attr:`Endpoint.shown` masks them, and every secret (the password, the
``user:password`` pair, the values of query parameters named like a key) is registered with
:mod:`droiz.redact`, so that it is masked wherever it appears, base64-encoded forms included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from droiz.exceptions import ConfigError
from droiz.redact import redact, redact_url

EXAMPLE = "http://127.0.0.1:8000/v1"


@dataclass(frozen=True)
class Endpoint:
    """A parsed base URL (see :func:`parse_base_url`); its ``repr`` shows no secret.

    Attributes:
        url: ``scheme://host[:port]/path``: no user-info, no query.
        shown: The URL as given, its credentials masked (``***``): for messages and files.
        host, port: The host and the port (the scheme's default when the URL has none).
        query: The query's parameters, sent with every request.
        username, password: The user-info (``None`` without one), sent as Basic auth.
    """

    url: str
    shown: str
    host: str
    port: int
    query: Mapping[str, str] = field(default_factory=dict, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def auth(self) -> tuple[str, str] | None:
        """``(username, password)`` for the HTTP client's Basic auth, or ``None``."""
        return None if self.username is None else (self.username, self.password or "")


def parse_base_url(url: object, flag: str = "--base-url") -> Endpoint:
    """Take ``url`` apart, or raise a one-line :class:`~droiz.exceptions.ConfigError` (its
    credentials masked) naming ``flag``.

    Refused: anything but an http(s) URL with a host, a bad port, a fragment, and any space or
    control character (a pasted trailing space or newline would otherwise reach the server).
    """
    if not isinstance(url, str):
        raise ConfigError(f"{flag} must be a URL such as {EXAMPLE}, got {type(url).__name__}")
    shown = redact(url)
    bad = next((i for i, c in enumerate(url) if c.isspace() or not c.isprintable()), None)
    if bad is not None:
        raise ConfigError(
            f"{flag} {shown!r} holds a space or a control character (position {bad + 1}); give "
            f"the URL alone, e.g. {EXAMPLE}"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{flag} {shown!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{flag} must be an http(s) URL such as {EXAMPLE}, got {shown!r}")
    if parts.fragment or url.endswith("#"):
        raise ConfigError(f"{flag} {shown!r} has a fragment (#...), which is never sent; drop it")
    shown = redact_url(url) or url  # registers the credentials (and their base64) as secrets
    username = password = None
    if "@" in parts.netloc:
        username, _, password = parts.netloc.rsplit("@", 1)[0].partition(":")
        username, password = unquote(username), unquote(password)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return Endpoint(
        url=urlunsplit((parts.scheme, netloc, parts.path, "", "")),
        shown=shown,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        query=query,
        username=username,
        password=password,
    )
