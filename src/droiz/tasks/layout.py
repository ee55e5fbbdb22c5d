"""Input layouts: which parts of an input are content and which are structure.

Shift groups perturb content spans only, never the structural markers of an input (``Sentence 1:``,
``Word:``, ``List:``, ``[c]``, ...). An :class:`InputLayout` is a regular expression whose named
groups mark the content of an input:

- ``t<i>``: free text (case and typos apply);
- ``k<i>``: kept text (case applies, typos do not; e.g. the target word of word_in_context);
- ``L``: a list; it is split into items (content) and separators (structure) by ``list_sep``.

Everything outside the named groups (markers such as ``Sentence 1:``, ``List:``, ``[c]``) is
structure and never changes. Rendering the segments of an unmodified parse gives the input back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

FIXED, TEXT, KEEP, ITEM, SEP = "fixed", "text", "keep", "item", "sep"
"""Segment roles."""

__all__ = ["FIXED", "ITEM", "KEEP", "SEP", "TEXT", "InputLayout", "Segment", "render"]


@dataclass(frozen=True)
class Segment:
    """A span of an input with its role (``fixed``, ``text``, ``keep``, ``item`` or ``sep``)."""

    text: str
    role: str


def render(segments: list[Segment]) -> str:
    """Join the segments back into an input string."""
    return "".join(s.text for s in segments)


@dataclass(frozen=True)
class InputLayout:
    """A content/structure layout of a task's inputs.

    Args:
        pattern: Regular expression that must match the whole input (``re.DOTALL``); its named
            groups ``t<i>``, ``k<i>`` and ``L`` mark content (see the module docstring).
        list_sep: Separator pattern between list items of group ``L``.
    """

    pattern: str = r"(?P<t0>.*)"
    list_sep: str = r", (?:and )?"

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.DOTALL)

    def parse(self, text: str) -> list[Segment] | None:
        """Split ``text`` into segments, or return ``None`` when it does not fit the layout."""
        match = self._regex.fullmatch(text)
        if match is None:
            return None
        spans = sorted(
            (match.start(name), match.end(name), name)
            for name, value in match.groupdict().items()
            if value is not None
        )
        out: list[Segment] = []
        pos = 0
        for start, end, name in spans:
            if start > pos:
                out.append(Segment(text[pos:start], FIXED))
            out.extend(self._content(text[start:end], name))
            pos = end
        if pos < len(text):
            out.append(Segment(text[pos:], FIXED))
        return out

    def _content(self, text: str, name: str) -> list[Segment]:
        if name == "L":
            return self._split_list(text)
        return [Segment(text, KEEP if name.startswith("k") else TEXT)]

    def _split_list(self, text: str) -> list[Segment]:
        out: list[Segment] = []
        pos = 0
        for m in re.finditer(self.list_sep, text):
            out.append(Segment(text[pos : m.start()], ITEM))
            out.append(Segment(m.group(0), SEP))
            pos = m.end()
        out.append(Segment(text[pos:], ITEM))
        return [s for s in out if s.text or s.role == ITEM]
