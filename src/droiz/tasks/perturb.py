"""Primitive, seeded text perturbations used by the shift groups.

All functions are pure: randomness comes from a ``random.Random`` the caller builds with
:func:`droiz.tasks.keyed.keyed_rng`, keyed on (task, example, group, seed).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Collection, Mapping

from droiz.tasks.layout import ITEM, KEEP, SEP, TEXT, Segment

WORD = re.compile(r"[A-Za-z]+")
"""What counts as a word for typos: a run of ASCII letters."""

MIN_TYPO_LEN = 4
"""Words shorter than this are never edited."""

CASES: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
}

TEMPLATES: dict[str, str] = {
    "F1": "[PROMPT]\n\nQ: [INPUT]\nA:",
    "F2": "### Instruction\n[PROMPT]\n\n### Input\n[INPUT]\n\n### Response\n",
    "F3": "INSTRUCTION: [PROMPT]\nINPUT >>> [INPUT]\nANSWER:",
    "F4": '{"instruction": "[PROMPT]", "input": "[INPUT]", "output": "',
}
"""Alternative execution templates of the ``format`` group (``[PROMPT]``: the instruction)."""

DISTRACTORS: tuple[str, ...] = (
    "The weather report was published early this morning.",
    "The library opens early on weekdays.",
    "The committee will meet again next month.",
    "The opening hours changed last year.",
    "Several people attended the lecture yesterday.",
    "The river flows toward the coast.",
    "The report was written in plain language.",
    "The meeting was announced well in advance.",
    "The schedule was updated over the weekend.",
    "A new member joined the committee in autumn.",
    "The survey was sent to every member.",
    "The park is maintained by volunteers.",
    "The conference took place in a large hall.",
    "The guide explained the history of the town.",
    "The building will be closed during the holiday.",
    "The team reviewed the plan at length.",
    "The path through the valley is quite long.",
    "The article was translated into several languages.",
    "The students discussed the results together.",
    "The town council published its annual summary.",
)
"""Neutral sentences of the ``distractor`` group: no digits, animals, food, vehicles, objects one
could count, sentiment words or negation."""

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _build_neighbours() -> dict[str, str]:
    """Keys next to each letter on a QWERTY keyboard (same row, and the staggered rows)."""
    out: dict[str, str] = {}
    for r, row in enumerate(_ROWS):
        for c, ch in enumerate(row):
            near = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
            out[ch] = "".join(
                _ROWS[i][j] for i, j in near if 0 <= i < len(_ROWS) and 0 <= j < len(_ROWS[i])
            )
    return out


_NEIGHBOURS = _build_neighbours()

__all__ = [
    "CASES",
    "DISTRACTORS",
    "TEMPLATES",
    "apply_case",
    "apply_word_map",
    "choose_typos",
    "content_words",
    "neighbour",
    "permute_items",
    "typo_word",
]


def apply_case(segments: list[Segment], fn: Callable[[str], str]) -> list[Segment]:
    """Apply a case function to the content segments (text, keep, list items and separators)."""
    roles = (TEXT, KEEP, ITEM, SEP)
    return [Segment(fn(s.text), s.role) if s.role in roles else s for s in segments]


def neighbour(ch: str, rng: random.Random) -> str:
    """A QWERTY neighbour of ``ch`` with the same case (``ch`` itself if it has none)."""
    near = _NEIGHBOURS.get(ch.lower())
    if not near:
        return ch
    out = rng.choice(near)
    return out.upper() if ch.isupper() else out


def typo_word(word: str, rng: random.Random) -> str:
    """One interior edit of ``word`` (first and last characters kept), different from ``word``.

    The edit is drawn from adjacent swap, deletion, QWERTY-neighbour insertion and substitution;
    edits that leave the word unchanged are skipped. Words shorter than 4 are returned as is.
    """
    if len(word) < MIN_TYPO_LEN:
        return word
    ops = ["swap", "delete", "insert", "substitute"]
    rng.shuffle(ops)
    for op in ops:
        edited = _edit(word, op, rng)
        if edited != word:
            return edited
    return word


def _edit(word: str, op: str, rng: random.Random) -> str:
    n = len(word)
    if op == "swap":
        k = rng.randrange(1, n - 2)
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    if op == "delete":
        k = rng.randrange(1, n - 1)
        return word[:k] + word[k + 1 :]
    if op == "insert":
        k = rng.randrange(1, n)
        return word[:k] + neighbour(word[k - 1], rng) + word[k:]
    k = rng.randrange(1, n - 1)
    return word[:k] + neighbour(word[k], rng) + word[k + 1 :]


def content_words(segments: list[Segment], roles: Collection[str] = (TEXT, ITEM)) -> list[str]:
    """Distinct words (in order of appearance) of the segments with the given roles."""
    seen: dict[str, None] = {}
    for s in segments:
        if s.role in roles:
            for m in WORD.finditer(s.text):
                seen.setdefault(m.group(0), None)
    return list(seen)


def choose_typos(
    words: list[str], p: float, rng: random.Random, eligible: Callable[[str], bool]
) -> dict[str, str]:
    """Edit each eligible word with probability ``p`` (at least one when any is eligible).

    Decisions are per word type, so repeated words get the same edit and the edit map can be
    applied to copied gold answers (co-transform).

    Returns:
        ``{word: edited word}`` for the edited words.
    """
    pool = [w for w in words if len(w) >= MIN_TYPO_LEN and eligible(w)]
    chosen = [w for w in pool if rng.random() < p]
    if pool and not chosen:
        chosen = [rng.choice(pool)]
    edits = {w: typo_word(w, rng) for w in chosen}
    return {w: e for w, e in edits.items() if e != w}


def apply_word_map(text: str, mapping: Mapping[str, str]) -> str:
    """Replace whole words of ``text`` found in ``mapping``."""
    if not mapping:
        return text
    return WORD.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


def permute_items(segments: list[Segment], rng: random.Random) -> list[Segment]:
    """Shuffle the non-empty list items into a different order (separators stay in place).

    Returns the segments unchanged when the items cannot be reordered (fewer than two distinct).
    """
    slots = [i for i, s in enumerate(segments) if s.role == ITEM and s.text.strip()]
    items = [segments[i].text for i in slots]
    if len(set(items)) < 2:
        return segments
    order = items[:]
    while order == items:
        rng.shuffle(order)
    out = list(segments)
    for slot, text in zip(slots, order, strict=True):
        out[slot] = Segment(text, ITEM)
    return out
