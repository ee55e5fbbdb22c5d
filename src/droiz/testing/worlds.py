"""An instruction-sensitive synthetic world for the runner's tests and benchmarks (stdlib only).

The task: write a made-up word backwards (``"bakomi"`` → ``"imokab"``), as a custom JSONL task
with the groups ``clean``, ``case``, ``format`` and ``distractor``. The black-box "LLM" is a
loopback server whose answer is right only when the instruction says the right thing, and right
less often on some groups for *fragile* instructions:

* ``robust`` instructions spell out that case, layout and notes do not matter: about 80 % right on
  every group;
* ``fragile_*`` instructions ("Reverse the word.") are perfect on clean inputs but fail one shift
  group (format, distractor or case), so their mean is higher and their worst group far lower;
* ``partial`` ones are 60 % right everywhere; ``wrong`` ones (and any unknown text) echo the word.

Whether an answer is right is a deterministic function of (instruction family, word, group,
seed), nested across the variants of a family, so repeated requests get the same answer and
variants of one family make correlated errors.

Example:
    >>> world = InstructionWorld(size="small")
    >>> task = world.write_task(tmp / "reverse.jsonl"); pool = world.write_pool(tmp / "pool.txt")
    >>> with FakeOpenAIServer(answer=world.answer) as server: ...
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GROUPS = ("clean", "case", "format", "distractor")


@dataclass(frozen=True)
class Family:
    """Instructions that behave alike: success probability per group, and textual variants."""

    name: str
    quality: tuple[float, float, float, float]
    variants: tuple[str, ...]


FAMILIES = (
    Family(
        "robust",
        (0.8, 0.8, 0.78, 0.8),
        (
            "Write the given word backwards, letter by letter, whatever its capitalisation, "
            "layout or any note after it.",
            "Reverse the order of the letters of the input word; ignore capitals, formatting and "
            "any extra note.",
            "Spell the input word in reverse, no matter how it is capitalised or formatted, and "
            "ignore added notes.",
            "Output the letters of the word in reverse order, treating upper and lower case alike "
            "and ignoring notes.",
            "Read the word from its last letter to its first and write it down, regardless of "
            "case, format or notes.",
        ),
    ),
    Family(
        "fragile_format",
        (1.0, 1.0, 0.05, 1.0),
        (
            "Reverse the word.",
            "Write the word backwards.",
            "Spell the word backwards.",
            "Reverse the letters.",
            "Write the word in reverse.",
            "Flip the word around.",
        ),
    ),
    Family(
        "fragile_distractor",
        (1.0, 1.0, 1.0, 0.1),
        (
            "Reverse the whole input text.",
            "Write the entire input backwards.",
            "Reverse every character of the input.",
            "Spell the complete input in reverse.",
            "Turn the full input around.",
        ),
    ),
    Family(
        "fragile_case",
        (1.0, 0.1, 1.0, 1.0),
        (
            "Reverse the lowercase word.",
            "Write the lowercase word backwards.",
            "Spell the word backwards if it is in lower case.",
            "Reverse words made of small letters.",
        ),
    ),
    Family(
        "partial",
        (0.6, 0.6, 0.6, 0.6),
        (
            "Rearrange the letters of the word.",
            "Scramble the word.",
            "Shuffle the letters of the input.",
            "Mix up the letters of the word.",
        ),
    ),
    Family(
        "wrong",
        (0.0, 0.0, 0.0, 0.0),
        (
            "Repeat the word.",
            "Copy the input.",
            "Translate the word into French.",
            "Write a synonym of the word.",
            "Count the letters of the word.",
            "Sort the letters alphabetically.",
            "Write the word in capital letters.",
            "Give the first letter of the word.",
            "Write a rhyme for the word.",
            "Use the word in a sentence.",
            "Say whether the word is a noun.",
            "Write the word twice.",
            "Give the last letter of the word.",
            "Remove the vowels from the word.",
            "Write the length of the word.",
            "Add an exclamation mark to the word.",
        ),
    ),
)

_SIZES = {"small": (2, 3, 2, 2, 2, 5), "large": (5, 6, 5, 4, 4, 16)}
_VARIANT_SHIFT = (0.0, -0.02, 0.01, -0.04, -0.01, 0.02)
_SYLLABLES = ("ba", "ko", "mi", "tu", "re", "la", "so", "ne", "fi", "da", "pu", "ge", "vo", "zi")
_FORMATS = (
    re.compile(r"\A### Instruction\n(?P<v>.*)\n\n### Input\n(?P<x>.*)\n\n### Response\n\Z", re.S),
    re.compile(r"\AINSTRUCTION: (?P<v>.*)\nINPUT >>> (?P<x>.*)\nANSWER:\Z", re.S),
    re.compile(r'\A\{"instruction": "(?P<v>.*)", "input": "(?P<x>.*)", "output": "\Z', re.S),
)
_DEFAULT = re.compile(r"\AInstruction: (?P<v>.*)\n\nInput: (?P<x>.*)\n\nOutput:\Z", re.S)
_F1 = re.compile(r"\A(?P<v>.*)\n\nQ: (?P<x>.*)\nA:\Z", re.S)


def _unit(*parts: object) -> float:
    digest = hashlib.sha256(json.dumps(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def parse_query(prompt: str) -> tuple[str, str, str] | None:
    """``(instruction, input, group)`` of a query in the default or a ``format`` template."""
    for pattern in _FORMATS:
        if match := pattern.match(prompt):
            return match["v"], match["x"], "format"
    if match := _DEFAULT.match(prompt):
        x = match["x"]
        group = "distractor" if "\nNote:" in x else "case" if x != x.lower() else "clean"
        return match["v"], x, group
    if match := _F1.match(prompt):
        return match["v"], match["x"], "format"
    return None


class InstructionWorld:
    """The synthetic task, its instruction pool and the scripted "LLM".

    Args:
        size: ``small`` (16 instructions, for tests) or ``large`` (40, for benchmarks).
        n_induce: Induce examples (half become demos, half the dev pool). n_test: Test examples.
        seed: Seed of the right/wrong draws.
    """

    def __init__(
        self, size: str = "small", *, n_induce: int = 60, n_test: int = 40, seed: int = 0
    ) -> None:
        counts = _SIZES[size]
        self.seed = seed
        self.quality: dict[str, tuple[str, tuple[float, ...]]] = {}
        for family, count in zip(FAMILIES, counts, strict=True):
            for j, text in enumerate(family.variants[:count]):
                shift = _VARIANT_SHIFT[j % len(_VARIANT_SHIFT)]
                q = tuple(min(1.0, max(0.0, v + shift)) if 0 < v < 1 else v for v in family.quality)
                self.quality[text] = (family.name, q)
        self.words = [self._word(i) for i in range(n_induce + n_test)]
        self.n_induce = n_induce

    @staticmethod
    def _word(i: int) -> str:
        n = len(_SYLLABLES)
        k = (i * 37 + 11) % n**3
        return _SYLLABLES[k // n**2] + _SYLLABLES[(k // n) % n] + _SYLLABLES[k % n]

    @property
    def instructions(self) -> list[str]:
        return list(self.quality)

    def family(self, instruction: str) -> str | None:
        entry = self.quality.get(instruction.strip())
        return entry[0] if entry else None

    def write_task(self, path: str | Path) -> Path:
        """The task as a custom JSONL file (``split`` column: induce, then test)."""
        path = Path(path)
        rows = [
            {"input": w, "output": w[::-1], "split": "induce" if i < self.n_induce else "test"}
            for i, w in enumerate(self.words)
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path

    def write_pool(self, path: str | Path) -> Path:
        """The instruction pool, one per line (the ``pool:FILE`` generator's input)."""
        path = Path(path)
        path.write_text("\n".join(self.instructions) + "\n", encoding="utf-8")
        return path

    def answer(self, prompt: str, body: Mapping[str, Any] | None = None) -> str:
        """The scripted LLM: the reversed word when the draw says so, else the word itself."""
        parsed = parse_query(prompt)
        if parsed is None:
            return ""
        instruction, x, group = parsed
        word = x.split("\n", 1)[0].strip().lower()
        entry = self.quality.get(instruction.strip())
        if entry is None:
            return word
        family, quality = entry
        right = _unit(family, word, group, self.seed) < quality[GROUPS.index(group)]
        return word[::-1] if right else word


_PLANTED = {
    "kitchen": (
        ("whisk", "chop", "simmer", "bake", "roast", "stir", "season", "grill", "knead", "fry"),
        ("onions", "garlic", "butter", "flour", "eggs", "tomatoes", "basil", "pasta", "dough"),
        "{0} the {1} with {2}",
    ),
    "markets": (
        ("revenue", "inflation", "the bond yield", "the share price", "the exchange rate"),
        ("bank", "central bank", "insurer", "hedge fund", "brokerage", "pension fund"),
        "analysts at the {1} said that {0} rose by {n} percent in the third quarter while "
        "investors sold {2} shares",
    ),
    "football": (
        ("striker", "goalkeeper", "midfielder", "defender", "captain", "substitute", "winger"),
        ("derby", "cup final", "league match", "semi final", "friendly", "play off game"),
        "in the {1} the {0} scored twice before half time and the crowd of {n} thousand fans "
        "kept singing until the referee blew the final whistle after the {2} and the team "
        "celebrated with the coach on the pitch",
    ),
}
"""Three subpopulations with their own vocabularies and lengths (short, medium, long inputs)."""


def planted_rows(n_per_group: int = 30, seed: int = 0) -> list[dict[str, str]]:
    """Task-file rows from three planted subpopulations (:data:`_PLANTED`), without a ``group``
    column: each row's ``id`` is ``TOPIC-I``, its output the reversed input (the world's task).
    Inputs are lowercase, without punctuation, and distinct."""
    rows: list[dict[str, str]] = []
    for topic, (first, second, template) in _PLANTED.items():
        seen: set[str] = set()
        i = 0
        while len(seen) < n_per_group:
            u = [_unit("planted", topic, i, j, seed) for j in range(4)]
            text = template.format(
                first[int(u[0] * len(first))],
                second[int(u[1] * len(second))],
                second[int(u[2] * len(second))],
                n=2 + int(u[3] * 60),
            )
            i += 1
            if text in seen:
                continue
            seen.add(text)
            rows.append({"id": f"{topic}-{len(seen)}", "input": text, "output": text[::-1]})
    return rows


def write_planted_task(path: str | Path, n_per_group: int = 30, seed: int = 0) -> Path:
    """:func:`planted_rows` as a JSONL task file."""
    path = Path(path)
    rows = planted_rows(n_per_group, seed)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
