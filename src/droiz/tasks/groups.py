"""Grouping, the third stage of :func:`droiz.tasks.load_task`: the groups of a task.

A task has shift groups (seeded perturbations of every example, :mod:`droiz.tasks.shifts`) and
may have natural groups (labels the data already carry, :mod:`droiz.tasks.natural`, or a task
file's ``group`` column). This module holds the validity table, which shift groups each task
uses and how each keeps the gold valid (:func:`shift_profile`), and which groups a task uses by
default (:func:`default_groups`).

A group is used for a task only if the gold stays valid: ✓ keep the gold, R recompute it with an
oracle, C co-transform it (the answer is copied from the input, so it gets the same edit and both
golds are accepted); an empty cell is a group the task does not use.

==================================================  ====  ====  ======  ==========  =====  =======
task                                                case  typo  format  distractor  order  spacing
==================================================  ====  ====  ======  ==========  =====  =======
active_to_passive, negation                         ✓     C     ✓       ✓
antonyms, synonyms, rhymes, translation_*,          ✓           ✓       ✓
singular_to_plural, word_unscrambling
num_to_verbal, sum, diff, periodic_elements                     ✓       ✓                  ✓
first_word_letter                                   ✓     ✓     ✓       ✓
second_word_letter, letters_list,                   ✓     R     ✓       ✓
orthography_starts_with
cs_algorithms                                       U/l   R     ✓       ✓
word_sorting                                        ✓     R     ✓       ✓           ✓
cause_and_effect                                    ✓     C     ✓       ✓
larger_animal, odd_one_out, taxonomy_animal         ✓     C     ✓       ✓           ✓
informal_to_formal, sentiment, sentence_similarity, ✓     ✓     ✓       ✓
word_in_context (target word protected)
common_concept, object_counting,                    ✓     ✓     ✓       ✓           ✓
auto_categorization
auto_debugging (comment distractor),                            ✓       ✓                  ✓
ascii_word_recognition
BBII (C under ``mc``; dyck_languages: no case,      ✓/C         ✓       ✓                  (✓)
spacing instead)
==================================================  ====  ====  ======  ==========  =====  =======
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from droiz.tasks.base import Example
from droiz.tasks.catalog import BBII, CUSTOM
from droiz.tasks.layout import InputLayout
from droiz.tasks.oracles import ORACLES
from droiz.tasks.shifts import (
    CASE,
    COTRANSFORM,
    DISTRACTOR,
    FORMAT,
    KEEP_GOLD,
    ORDER,
    RECOMPUTE,
    SPACING,
    TYPO,
    ShiftProfile,
)

__all__ = ["default_groups", "natural_labels", "shift_profile"]

_PAIR = InputLayout(r"Sentence 1: (?P<t0>.*) Sentence 2: (?P<t1>.*)")
_WIC = InputLayout(r"Sentence 1: (?P<t0>.*) Sentence 2: (?P<t1>.*) Word: (?P<k0>.*)")
_ORTHO = InputLayout(r"(?P<t0>.*) \[.\]")
_SORTING = InputLayout(r"\nList: (?P<L>.*)\n", list_sep=" ")
_STRINGS = InputLayout(r"Strings: (?P<t0>\S+) (?P<t1>\S+)")
_COMMA_LIST = InputLayout(r"\s*(?P<L>.*?)\s*")
_OPTIONS = InputLayout(r"(?P<t0>.*)\nOptions:\n(?P<k0>.*)")
_OBJECTS = InputLayout(r"(?P<t0>I have )(?P<L>.*)\.")

_NUMBER_WORDS = frozenset(
    {
        *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
        *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
        *("seventeen", "eighteen", "nineteen", "twenty"),
    }
)


def space_pair(text: str, rng: random.Random) -> str:
    """``"x y"`` -> ``"x, y"``, ``"x  y"`` or ``"x; y"`` (other inputs: :func:`space_text`)."""
    parts = text.split()
    if len(parts) != 2:
        return space_text(text, rng)
    return parts[0] + rng.choice((", ", "  ", "; ")) + parts[1]


def space_number(text: str, rng: random.Random) -> str:
    """Thousands separator for numbers >= 1000, else extra whitespace around the number."""
    digits = text.strip()
    if digits.isdigit() and int(digits) >= 1000:
        return f"{int(digits):,}"
    before, after = rng.choice((("  ", ""), ("", "  "), ("\n", "\n")))
    return before + text + after


def space_code(text: str, rng: random.Random) -> str:
    """Tabs to four spaces and one blank line between two lines of the code block."""
    lines = text.replace("\t", "    ").split("\n")
    fenced = len(lines) >= 3 and lines[0].startswith("```") and lines[-1].startswith("```")
    low, high = (2, len(lines) - 1) if fenced else (1, len(lines))
    at = rng.randint(low, max(low, high))
    return "\n".join([*lines[:at], "", *lines[at:]])


def space_ascii(text: str, rng: random.Random) -> str:
    """ASCII art with blank background (``"."`` -> ``" "``)."""
    return text.replace(".", " ")


def space_text(text: str, rng: random.Random) -> str:
    """Double some of the spaces (at least one); pad an input without spaces."""
    parts = text.split(" ")
    if len(parts) == 1:
        return "  " + text if rng.random() < 0.5 else text + "  "
    gaps = [" " if rng.random() < 0.5 else "  " for _ in parts[1:]]
    if "  " not in gaps:
        gaps[rng.randrange(len(gaps))] = "  "
    return parts[0] + "".join(g + p for g, p in zip(gaps, parts[1:], strict=True))


def _protect_target(example: Example) -> Callable[[str], bool]:
    """word_in_context: no typos in the target word or words sharing its stem."""
    match = re.search(r"Word: (\S+)\s*$", example.input)
    target = match.group(1).lower() if match else ""
    stem = target[: max(3, len(target) - 2)]
    return lambda w: not (stem and w.lower().startswith(stem))


def _protect_counting(example: Example) -> Callable[[str], bool]:
    """object_counting: no typos in number words, "have" or "and"."""
    return lambda w: w.lower() not in _NUMBER_WORDS and w.lower() not in ("have", "and")


_BASIC = (CASE, FORMAT, DISTRACTOR)
_NUMERIC = (FORMAT, DISTRACTOR, SPACING)

_PROFILES: dict[str, ShiftProfile] = {
    **{
        t: ShiftProfile(_BASIC)
        for t in (
            "antonyms",
            "synonyms",
            "rhymes",
            "translation_en-de",
            "translation_en-es",
            "translation_en-fr",
            "singular_to_plural",
            "word_unscrambling",
        )
    },
    "num_to_verbal": ShiftProfile(_NUMERIC, spacing=space_number),
    "periodic_elements": ShiftProfile(_NUMERIC, spacing=space_number),
    "sum": ShiftProfile(_NUMERIC, spacing=space_pair),
    "diff": ShiftProfile(_NUMERIC, spacing=space_pair),
    "active_to_passive": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR), typo_gold=COTRANSFORM, typo_gold_words_only=True
    ),
    "negation": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR), typo_gold=COTRANSFORM, typo_gold_words_only=True
    ),
    "first_word_letter": ShiftProfile((CASE, TYPO, FORMAT, DISTRACTOR)),
    **{
        t: ShiftProfile(
            (CASE, TYPO, FORMAT, DISTRACTOR), typo_gold=RECOMPUTE, oracle=ORACLES[t], layout=lay
        )
        for t, lay in (
            ("second_word_letter", InputLayout()),
            ("letters_list", InputLayout()),
            ("orthography_starts_with", _ORTHO),
        )
    },
    "cs_algorithms": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR),
        layout=_STRINGS,
        cases=("upper", "lower"),
        typo_gold=RECOMPUTE,
        oracle=ORACLES["cs_algorithms"],
    ),
    "word_sorting": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR, ORDER),
        layout=_SORTING,
        typo_gold=RECOMPUTE,
        oracle=ORACLES["word_sorting"],
    ),
    "cause_and_effect": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR), _PAIR, typo_gold=COTRANSFORM
    ),
    **{
        t: ShiftProfile((CASE, TYPO, FORMAT, DISTRACTOR, ORDER), _COMMA_LIST, typo_gold=COTRANSFORM)
        for t in ("larger_animal", "odd_one_out", "taxonomy_animal")
    },
    "informal_to_formal": ShiftProfile((CASE, TYPO, FORMAT, DISTRACTOR)),
    "sentiment": ShiftProfile((CASE, TYPO, FORMAT, DISTRACTOR)),
    "sentence_similarity": ShiftProfile((CASE, TYPO, FORMAT, DISTRACTOR), _PAIR),
    "word_in_context": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR), _WIC, protect=_protect_target
    ),
    "common_concept": ShiftProfile((CASE, TYPO, FORMAT, DISTRACTOR, ORDER), _COMMA_LIST),
    "object_counting": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR, ORDER), _OBJECTS, protect=_protect_counting
    ),
    "auto_categorization": ShiftProfile(
        (CASE, TYPO, FORMAT, DISTRACTOR, ORDER), _COMMA_LIST, typo_p=0.15
    ),
    "auto_debugging": ShiftProfile(_NUMERIC, spacing=space_code, distractor="comment"),
    "ascii_word_recognition": ShiftProfile(_NUMERIC, spacing=space_ascii),
}


def shift_profile(task: str, source: str, metric: str) -> ShiftProfile:
    """The shift profile of a task: which shift groups it uses and how they keep the gold valid.

    Args:
        task: The task's name.
        source: Its source (a built-in one or ``custom``).
        metric: The metric its data define (a task file: the one it is scored with); under the
            case-sensitive ``mc`` the ``case`` group co-transforms the gold.
    """
    if source == CUSTOM:
        return _custom_profile(metric)
    if source == BBII:
        return _bbii_profile(task, metric)
    return _PROFILES[task]


def _bbii_profile(task: str, metric: str) -> ShiftProfile:
    """BBII tasks: case (co-transformed under ``mc``), format, distractor; dyck: spacing for case.

    Typos and reordering are not used: their validity was not checked for these tasks.
    """
    if task == "bbii/dyck_languages":
        return ShiftProfile(_NUMERIC, spacing=space_text)
    if metric == "mc":
        return ShiftProfile(_BASIC, _OPTIONS, case_gold=COTRANSFORM)
    return ShiftProfile(_BASIC)


def _custom_profile(metric: str) -> ShiftProfile:
    """Users' tasks: case (co-transformed under ``mc``), format and distractor by default.

    ``spacing`` (doubled spaces) is also available on request. Check that these keep your gold
    answers valid; pass ``groups=`` to :func:`droiz.tasks.load_task` to choose.
    """
    case_gold = COTRANSFORM if metric == "mc" else KEEP_GOLD
    return ShiftProfile((*_BASIC, SPACING), case_gold=case_gold, spacing=space_text)


def natural_labels(examples: Sequence[Example]) -> tuple[str, ...]:
    """The natural group labels of the examples: distinct, sorted."""
    return tuple(sorted({e.group for e in examples if e.group is not None}))


def default_groups(profile: ShiftProfile, natural: tuple[str, ...], source: str) -> tuple[str, ...]:
    """The groups a task uses unless told otherwise.

    A task file's own group labels if it has them, else every group of its shift profile,
    ``clean`` first (a task file: without ``spacing``). Built-in tasks use their natural groups
    only on request.
    """
    if source != CUSTOM:
        return profile.all_groups
    return natural or tuple(g for g in profile.all_groups if g != SPACING)
