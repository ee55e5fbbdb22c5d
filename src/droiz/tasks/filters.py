"""Answer filters, lm-evaluation-harness style: turn a raw answer into the text that is scored.

Chat models answer in sentences (``The first letter of the word is "A".``); a filter chain
applied before the metric extracts the answer (``A``). A chain is written ``NAME[,NAME...]`` and
applied left to right. The filters, by name:

- ``first-line``: the first line with any non-blank character ("" when there is none);
- ``last-quoted``: the content of the last double-quoted span (``"..."`` or ``“...”``), else the
  text unchanged;
- ``after-is``: the text after the last ``" is "``, else the text unchanged;
- ``strip``: surrounding whitespace removed;
- ``regex:PATTERN``: the first group of the first match of ``PATTERN`` (``re.search``), or the
  whole match when the pattern has no group; the text unchanged when nothing matches. A pattern
  may contain commas: a comma-separated piece that does not look like a filter name
  (``[a-z][a-z-]*``) belongs to the pattern before it;
- ``chat-answer``: ``first-line``, then the last double-quoted span if there is one, else the text
  after the last ``" is "`` (the extraction that makes chat models scorable).

The default is no filter: the metric sees the raw answer. The raw answer is what is cached and
journaled; a filter changes only the scores, so changing it re-scores without re-asking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from droiz.exceptions import ConfigError, UnknownNameError
from droiz.registry import Registry, unknown_name_message

FilterFn = Callable[[str], str]

FILTERS: Registry[FilterFn] = Registry("answer filter")
"""The named filters (``regex:PATTERN`` is parsed separately)."""

_QUOTED = re.compile(r"\"([^\"\n]*)\"|“([^”\n]*)”")
_NAME_LIKE = re.compile(r"[a-z][a-z-]*")
_REGEX = "regex:"

__all__ = ["FILTERS", "AnswerFilter", "apply_filter", "parse_filter"]


@FILTERS.register("first-line")
def first_line(text: str) -> str:
    """The first line that is not blank, without its line break ("" when every line is blank)."""
    return next((line for line in text.splitlines() if line.strip()), "")


def _last_quoted(text: str) -> str | None:
    matches = _QUOTED.findall(text)
    if not matches:
        return None
    last: tuple[str, str] = matches[-1]  # (straight, curly) groups
    return last[0] or last[1]


@FILTERS.register("last-quoted")
def last_quoted(text: str) -> str:
    """The content of the last double-quoted span, else ``text``."""
    found = _last_quoted(text)
    return text if found is None else found


def _after_is(text: str) -> str | None:
    _, sep, tail = text.rpartition(" is ")
    return tail if sep else None


@FILTERS.register("after-is")
def after_is(text: str) -> str:
    """The text after the last ``" is "``, else ``text``."""
    found = _after_is(text)
    return text if found is None else found


@FILTERS.register("strip")
def strip(text: str) -> str:
    """``text`` without surrounding whitespace."""
    return text.strip()


@FILTERS.register("chat-answer")
def chat_answer(text: str) -> str:
    """First non-blank line; then its last double-quoted span, else the text after " is "."""
    line = first_line(text)
    quoted = _last_quoted(line)
    if quoted is not None:
        return quoted
    after = _after_is(line)
    return line if after is None else after


def regex_filter(pattern: str) -> FilterFn:
    """The ``regex:PATTERN`` filter (first group, or the whole match; no match: unchanged)."""
    if not pattern:
        raise ConfigError(
            "--answer-filter regex: has an empty pattern (it would match every answer at its "
            "start and keep nothing); write regex:PATTERN"
        )
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"--answer-filter regex:{pattern} is not a valid regex: {exc}") from None

    def apply(text: str) -> str:
        match = compiled.search(text)
        if match is None:
            return text
        return match.group(1) if compiled.groups else match.group(0)

    return apply


@dataclass(frozen=True)
class AnswerFilter:
    """A validated filter chain; call it on a raw answer.

    Attributes:
        names: The filters in order (``regex:PATTERN`` entries with their pattern).
    """

    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fns", tuple(_resolve(n) for n in self.names))

    @property
    def spec(self) -> str | None:
        """The chain as ``NAME,NAME``; ``None`` for no filter."""
        return ",".join(self.names) if self.names else None

    def __call__(self, text: str) -> str:
        for fn in self._fns:  # type: ignore[attr-defined]  # set by __post_init__, not a field
            text = fn(text)
        return text

    def __bool__(self) -> bool:
        return bool(self.names)


def _resolve(name: str) -> FilterFn:
    if name.startswith(_REGEX):
        return regex_filter(name[len(_REGEX) :])
    if name in FILTERS:
        return FILTERS.get(name)
    known = [*FILTERS.names(), "regex:PATTERN"]
    raise UnknownNameError(unknown_name_message("answer filter", name, known))


def split_spec(spec: str) -> list[str]:
    """``"a,b,regex:x{1,2},c"`` → ``["a", "b", "regex:x{1,2}", "c"]`` (see the module docs)."""
    out: list[str] = []
    for piece in spec.split(","):
        item = piece.strip()
        in_regex = bool(out) and out[-1].startswith(_REGEX)
        if in_regex and not item.startswith(_REGEX) and not _NAME_LIKE.fullmatch(item):
            out[-1] += "," + piece
            continue
        if not item:
            raise ConfigError(f"--answer-filter {spec!r} has an empty entry; write NAME[,NAME...]")
        out.append(item)
    return out


def parse_filter(spec: str | Sequence[str] | AnswerFilter | None) -> AnswerFilter:
    """An :class:`AnswerFilter` from ``"NAME[,NAME...]"``, a list of names, or ``None``/``""``.

    Raises:
        UnknownNameError: An unknown filter name (with a "did you mean").
        ConfigError: An empty entry or an invalid regular expression.
    """
    if isinstance(spec, AnswerFilter):
        return spec
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return AnswerFilter()
    names = split_spec(spec) if isinstance(spec, str) else [str(n).strip() for n in spec]
    return AnswerFilter(tuple(names))


def apply_filter(spec: str | Sequence[str] | AnswerFilter | None, text: str) -> str:
    """Apply a filter chain to one raw answer."""
    return parse_filter(spec)(text)
