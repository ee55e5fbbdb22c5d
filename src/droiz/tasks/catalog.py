"""The built-in tasks: names, sources, metrics and where their files live in a data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from droiz.exceptions import UnknownNameError
from droiz.registry import unknown_name_message

II, IZ, BBII = "instruction-induction", "instructzero-extra", "bigbench-ii"
"""Sources of the built-in tasks (also the top-level folders of a data directory)."""

CUSTOM = "custom"
"""The source of a task read from a user's ``.jsonl`` / ``.csv`` file."""

II_TASKS: tuple[str, ...] = (
    "active_to_passive",
    "antonyms",
    "cause_and_effect",
    "common_concept",
    "diff",
    "first_word_letter",
    "informal_to_formal",
    "larger_animal",
    "letters_list",
    "negation",
    "num_to_verbal",
    "orthography_starts_with",
    "rhymes",
    "second_word_letter",
    "sentence_similarity",
    "sentiment",
    "singular_to_plural",
    "sum",
    "synonyms",
    "taxonomy_animal",
    "translation_en-de",
    "translation_en-es",
    "translation_en-fr",
    "word_in_context",
)
"""The 24 instruction-induction tasks."""

IZ_TASKS: tuple[str, ...] = (
    "auto_categorization",
    "auto_debugging",
    "cs_algorithms",
    "object_counting",
    "odd_one_out",
    "periodic_elements",
    "word_sorting",
    "word_unscrambling",
    "ascii_word_recognition",
)
"""The 9 extra InstructZero tasks (the first 8 complete the 32 benchmark tasks)."""

BENCHMARK_TASKS: tuple[str, ...] = II_TASKS + IZ_TASKS[:8]
"""The 32 benchmark tasks of DRO-InstructZero: the 24 instruction-induction tasks and the first 8
InstructZero extras (not ascii_word_recognition)."""

BBII_NAMES: tuple[str, ...] = (
    "causal_judgment",
    "disambiguation_qa",
    "dyck_languages",
    "epistemic_reasoning",
    "gender_inclusive_sentences_german",
    "implicatures",
    "linguistics_puzzles",
    "logical_fallacy_detection",
    "movie_recommendation",
    "navigate",
    "object_counting",
    "operators",
    "presuppositions_as_nli",
    "question_selection",
    "ruin_names",
    "snarks",
    "sports_understanding",
    "tense",
    "timedial",
    "winowhy",
    "word_sorting",
    "word_unscrambling",
)
"""The 22 BIG-Bench Instruction Induction tasks available (``hyperbaton`` is missing upstream)."""

BBII_PREFIX = "bbii/"
BBII_TASKS: tuple[str, ...] = tuple(BBII_PREFIX + n for n in BBII_NAMES)
"""BBII task names as droiz knows them (namespaced, e.g. ``bbii/object_counting``)."""

TASK_TO_METRIC: dict[str, str] = {
    "common_concept": "f1",
    "informal_to_formal": "f1",
    "orthography_starts_with": "es",
    "taxonomy_animal": "es",
    "synonyms": "contains",
}
"""Metrics of the instruction-induction and InstructZero tasks that do not use ``em``."""

ALIASES: dict[str, str] = {"ascii": "ascii_word_recognition", "object_count": "object_counting"}
"""InstructZero's ``misc.py`` names that do not match a file, mapped to the file's name."""

__all__ = [
    "ALIASES",
    "BBII",
    "BBII_TASKS",
    "BENCHMARK_TASKS",
    "CUSTOM",
    "II",
    "II_TASKS",
    "IZ",
    "IZ_TASKS",
    "TASK_TO_METRIC",
    "TaskSpec",
    "get_spec",
    "list_tasks",
]


@dataclass(frozen=True)
class TaskSpec:
    """Where a built-in task comes from.

    Attributes:
        name: droiz name (``bbii/...`` for BBII).
        source: :data:`II`, :data:`IZ` or :data:`BBII`.
        file_name: Name of the task in its source's files.
    """

    name: str
    source: str
    file_name: str

    def files(self, data_dir: Path) -> dict[str, Path]:
        """The task's files: ``{"induce": ..., "execute": ...}`` or ``{"task": ...}`` (BBII).

        ``execute`` is left out for tasks without a test file.
        """
        if self.source == BBII:
            return {"task": data_dir / BBII / self.file_name / "task.json"}
        out = {"induce": data_dir / self.source / "raw" / "induce" / f"{self.file_name}.json"}
        if self.file_name not in ("ascii_word_recognition", "cs_algorithms"):
            out["execute"] = data_dir / self.source / "raw" / "execute" / f"{self.file_name}.json"
        return out


def list_tasks() -> list[str]:
    """Names of the built-in tasks: 24 instruction-induction, 9 InstructZero, then 22 BBII."""
    return [*II_TASKS, *IZ_TASKS, *BBII_TASKS]


def get_spec(name: str) -> TaskSpec:
    """The spec of a built-in task (aliases accepted); unknown names get a "did you mean"."""
    canonical = ALIASES.get(name, name)
    if canonical in II_TASKS:
        return TaskSpec(canonical, II, canonical)
    if canonical in IZ_TASKS:
        return TaskSpec(canonical, IZ, canonical)
    if canonical in BBII_TASKS:
        return TaskSpec(canonical, BBII, canonical[len(BBII_PREFIX) :])
    known = [*list_tasks(), *ALIASES]
    hint = "; a task file must end in .jsonl or .csv" if "." in name else ""
    raise UnknownNameError(unknown_name_message("task", name, known) + hint)
