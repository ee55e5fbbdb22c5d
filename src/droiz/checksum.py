"""Per-line checksums of droiz's append-only JSON-lines files (the journal and the spend ledger).

A sealed line is a JSON object whose last key is ``"crc32"``: eight hex digits of the CRC-32 of
the line as it was before the key was added (the same bytes, with the object closed right after
the last field)::

    {"requests": 3, "tokens": 40, "crc32": "6c3b8f0e"}

The checksum catches accidental damage: a flipped bit or byte, a torn or truncated line, lines
run together. It is not a signature: whoever edits a line on purpose can recompute it.
"""

from __future__ import annotations

import re
import zlib
from enum import Enum

FIELD = "crc32"
"""The key of the checksum, the last of a sealed line."""

_SEAL = re.compile(r',\s*"crc32":\s*"([0-9a-f]{8})"\s*\}\s*$')


class Seal(Enum):
    """What :func:`unseal` found: a line whose checksum matches (``OK``), one whose checksum does
    not (``BAD``), or one without a checksum (``NONE``: written before checksums, or damaged
    where the checksum was)."""

    OK = "ok"
    BAD = "bad"
    NONE = "none"


def _crc(text: str) -> str:
    return f"{zlib.crc32(text.encode('utf-8')):08x}"


def seal(obj_text: str, separator: str = ", ") -> str:
    """The JSON object text ``obj_text`` (``{...}``, at least one field) with its checksum as its
    last key; ``separator`` is the one between its fields (``", "`` or ``","``)."""
    if not obj_text.startswith("{") or not obj_text.endswith("}") or obj_text == "{}":
        raise ValueError("seal() takes the text of a JSON object with at least one field")
    colon = ": " if separator == ", " else ":"
    return f'{obj_text[:-1]}{separator}"{FIELD}"{colon}"{_crc(obj_text)}"}}'


def unseal(line: str) -> Seal:
    """Whether ``line`` (one line, without its newline) carries a checksum, and whether it
    matches."""
    match = _SEAL.search(line)
    if match is None:
        return Seal.NONE
    body = line[: match.start()] + "}"
    return Seal.OK if _crc(body) == match.group(1) else Seal.BAD
