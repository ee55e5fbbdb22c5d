"""Deterministic task solvers used to recompute gold answers after a perturbation.

An oracle maps a task input to its answer. A shift group marked ``R`` (recompute) in the validity
table (:mod:`droiz.tasks.groups`) replaces the gold with ``oracle(perturbed input)``; the group is
applied to an example only if the oracle reproduces the example's own gold on the clean input.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["ORACLES", "lcs_length"]


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (case-sensitive)."""
    row = [0] * (len(b) + 1)
    for ca in a:
        diag = 0
        for j, cb in enumerate(b):
            up = row[j + 1]
            row[j + 1] = diag + 1 if ca == cb else max(up, row[j])
            diag = up
    return row[-1]


def _second_letter(text: str) -> str:
    return text.strip()[1]


def _letters(text: str) -> str:
    return " ".join(text.strip())


def _sorted_words(text: str) -> str:
    words = text.split("List:", 1)[1].split()
    return " ".join(sorted(words, key=lambda w: (w.lower(), w)))


def _lcs(text: str) -> str:
    first, second = text.split(":", 1)[1].split()
    return str(lcs_length(first, second))


def _starting_with(text: str) -> str:
    match = re.fullmatch(r"(.*) \[(.)\]", text, re.DOTALL)
    if match is None:
        raise ValueError(f"not an orthography_starts_with input: {text!r}")
    sentence, letter = match.groups()
    return " ".join(w for w in sentence.split() if w[0].lower() == letter.lower())


ORACLES: dict[str, Callable[[str], str]] = {
    "second_word_letter": _second_letter,
    "letters_list": _letters,
    "word_sorting": _sorted_words,
    "cs_algorithms": _lcs,
    "orthography_starts_with": _starting_with,
}
"""Oracles of the tasks whose ``typo`` group recomputes the gold."""
