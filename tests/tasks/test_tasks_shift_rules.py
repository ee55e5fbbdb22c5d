"""Shift groups follow the validity rules (docs/tasks.md, "Shift groups") on every built-in task.

For each group the test checks what the rules say about the input and the gold: unchanged gold
(✓), co-transformed gold (C: the clean gold plus the same word edits applied to it), recomputed
gold (R: an independent solver on the perturbed input), protected markers, and that every task
has at least three groups that change (almost) every query.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable

import pytest

from droiz.tasks import BBII_TASKS, BENCHMARK_TASKS, Example, Instance, Task
from droiz.tasks.perturb import DISTRACTORS, TEMPLATES

ALL_TASKS = [*BENCHMARK_TASKS, "ascii_word_recognition", *BBII_TASKS]
COTRANSFORM = {
    "active_to_passive", "negation", "cause_and_effect", "larger_animal", "odd_one_out",
    "taxonomy_animal",
}  # fmt: skip
RECOMPUTE = {"second_word_letter", "letters_list", "word_sorting", "cs_algorithms",
             "orthography_starts_with"}  # fmt: skip
MARKERS = {
    "cause_and_effect": ("Sentence 1: ", " Sentence 2: "),
    "sentence_similarity": ("Sentence 1: ", " Sentence 2: "),
    "word_in_context": ("Sentence 1: ", " Sentence 2: ", " Word: "),
    "word_sorting": ("\nList: ",),
    "cs_algorithms": ("Strings: ",),
}
WORD = re.compile(r"[A-Za-z]+")


def starting_with(text: str) -> str:
    sentence, letter = text[:-4], text[-2]
    assert text.endswith(f" [{letter}]")
    return " ".join(w for w in sentence.split() if w[0].lower() == letter.lower())


def sample(task: Task, n: int = 30) -> list[Example]:
    return [*task.test[:n], *task.dev_subset(10)]


def edit_map(before: str, after: str) -> dict[str, str]:
    """Word edits between two inputs with the same word count, checked to be interior typos."""
    old, new = WORD.findall(before), WORD.findall(after)
    assert len(old) == len(new), (before, after)
    edits = {}
    for a, b in zip(old, new, strict=True):
        if a != b:
            assert len(a) >= 4 and abs(len(a) - len(b)) <= 1, (a, b)
            assert a[0] == b[0] and a[-1] == b[-1], (a, b)
            edits[a] = b
    return edits


def apply_edits(text: str, edits: dict[str, str]) -> str:
    return WORD.sub(lambda m: edits.get(m.group(0), m.group(0)), text)


def check_typo(name: str, e: Example, inst: Instance, task: Task) -> None:
    edits = edit_map(e.input, inst.input)
    if name in RECOMPUTE:
        oracle = starting_with if name == "orthography_starts_with" else None
        if oracle is not None:
            assert inst.answers == (oracle(inst.input),)
        return
    if name in COTRANSFORM:
        moved = tuple(apply_edits(a, edits) for a in e.answers)
        assert inst.answers == tuple(dict.fromkeys(e.answers + moved))
        if name in ("negation", "active_to_passive"):
            gold_words = set(WORD.findall(" ".join(e.answers)))
            assert set(edits) <= gold_words
        return
    assert inst.answers == e.answers
    if name == "word_in_context":
        target = e.input.rsplit("Word: ", 1)[1].strip().lower()
        assert not any(w.lower().startswith(target[:3]) for w in edits)
    if name == "object_counting":
        assert not {w.lower() for w in edits} & {"have", "and", "three", "seven", "eight"}


def check_case(name: str, e: Example, inst: Instance, task: Task) -> None:
    assert inst.input.lower() == e.input.lower()
    if task.metric == "mc":
        assert set(e.answers) <= set(inst.answers)
        assert len(inst.answers) <= 2 * len(e.answers)
    else:
        assert inst.answers == e.answers
    if name == "cs_algorithms":
        strings = inst.input.split(": ", 1)[1]
        assert strings in (strings.upper(), strings.lower())
    if name == "orthography_starts_with":
        assert inst.input[-4:] == e.input[-4:]  # the [c] marker is untouched


def check_order(name: str, e: Example, inst: Instance, task: Task) -> None:
    assert inst.answers == e.answers

    def items(text: str) -> list[str]:
        if name == "word_sorting":
            return sorted(text.split())
        body = text.strip().removeprefix("I have ").removesuffix(".")
        return sorted(i.strip() for i in re.split(r", (?:and )?", body))

    assert items(inst.input) == items(e.input)


def check_spacing(name: str, e: Example, inst: Instance, task: Task) -> None:
    assert inst.answers == e.answers
    if name in ("sum", "diff", "num_to_verbal", "periodic_elements"):
        assert re.findall(r"\d+", inst.input.replace(",", "")) == re.findall(r"\d+", e.input)
    elif name == "auto_debugging":

        def code(text: str) -> list[str]:
            return [ln for ln in text.replace("\t", "    ").split("\n") if ln.strip()]

        assert code(inst.input) == code(e.input)
    else:
        assert inst.input.split() == e.input.split() or inst.input.replace(" ", ".") == e.input


def check_distractor(name: str, e: Example, inst: Instance, task: Task) -> None:
    assert inst.answers == e.answers
    if name == "auto_debugging":
        lines = inst.input.split("\n")
        note = lines.pop(1)
        assert note.startswith("# note: ") and note[8:] in DISTRACTORS
        assert "\n".join(lines) == e.input
    else:
        head, _, note = inst.input.rpartition("\nNote: ")
        assert head == e.input and note in DISTRACTORS


def check_format(name: str, e: Example, inst: Instance, task: Task) -> None:
    assert inst.input == e.input and inst.answers == e.answers
    assert inst.template in TEMPLATES.values()
    rendered = inst.render("Do it.")
    assert "Do it." in rendered and e.input in rendered


CHECKS = {
    "typo": check_typo,
    "case": check_case,
    "order": check_order,
    "spacing": check_spacing,
    "distractor": check_distractor,
    "format": check_format,
}


@pytest.mark.parametrize("name", ALL_TASKS)
def test_groups_follow_the_validity_rules(name: str, load: Callable) -> None:
    task = load(name)
    for e in sample(task):
        clean = task.instance(e, "clean")
        assert (clean.input, clean.answers, clean.template, clean.changed) == (
            e.input,
            e.answers,
            None,
            False,
        )
        for group in task.groups[1:]:
            inst = task.instance(e, group)
            assert inst.group == group and inst.example_id == e.id
            CHECKS[group](name, e, inst, task)
            for marker in MARKERS.get(name, ()):
                assert marker in inst.input, (group, inst.input)


@pytest.mark.parametrize("name", ALL_TASKS)
def test_at_least_three_groups_change_the_query(name: str, load: Callable) -> None:
    task = load(name)
    rates = task.change_rates("test")
    assert rates["clean"] == 0.0
    assert sum(rate >= 0.9 for g, rate in rates.items() if g != "clean") >= 3, rates
    assert set(rates) == set(task.groups)


def test_gold_never_changes_for_word_level_tasks(load: Callable) -> None:
    """antonyms & co.: typo is not a group (it would change the query word)."""
    for name in ("antonyms", "synonyms", "rhymes", "translation_en-de", "singular_to_plural",
                 "word_unscrambling"):  # fmt: skip
        task = load(name)
        assert "typo" not in task.groups
        for e in task.test:
            for group in task.groups:
                assert task.instance(e, group).answers == e.answers


def test_auto_debugging_code_still_runs_the_same(load: Callable) -> None:
    """Comment and blank-line/indent changes compile to the same code as the clean snippet."""
    task = load("auto_debugging")
    for e in (*task.test, *task.dev, *task.induce):
        clean = e.input.strip("`\n")
        for group in ("distractor", "spacing"):
            text = task.instance(e, group).input.strip("`\n")
            try:
                expected = compile(clean, "<clean>", "exec").co_code
            except SyntaxError:
                with pytest.raises(SyntaxError):
                    compile(text, "<shifted>", "exec")
                continue
            assert compile(text, "<shifted>", "exec").co_code == expected


def test_perturbations_are_keyed_not_ordered(load: Callable) -> None:
    task = load("taxonomy_animal")
    pairs = [(e, g) for e in task.dev_subset(20) for g in task.groups]
    forward = [task.instance(e, g) for e, g in pairs]
    backward = [task.instance(e, g) for e, g in reversed(pairs)][::-1]
    assert forward == backward
    other_seed = [task.instance(e, g, seed=1) for e, g in pairs]
    assert sum(a != b for a, b in zip(forward, other_seed, strict=True)) > len(pairs) // 3


def test_perturbations_do_not_depend_on_hash_randomisation(data_dir) -> None:
    code = (
        "import hashlib, sys; from droiz.tasks import load_task;"
        "t = load_task('object_counting', sys.argv[1]);"
        "d = t.dataset('test', n=30);"
        "print(hashlib.sha256(repr([(i.input, i.answers, i.template) for i in d]).encode())"
        ".hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(data_dir)], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_distractor_pool_is_neutral(load: Callable) -> None:
    """No digits, negation, or words of the animal and object tasks (the distractor rule)."""
    words = {w.lower() for s in DISTRACTORS for w in WORD.findall(s)}
    assert len(set(DISTRACTORS)) == len(DISTRACTORS) >= 20
    assert not any(ch.isdigit() for s in DISTRACTORS for ch in s)
    assert not words & {"not", "no", "never", "nothing", "none", "t"}
    for name in ("larger_animal", "taxonomy_animal", "object_counting", "odd_one_out"):
        task = load(name)
        vocab = {w.lower() for e in (*task.induce, *task.dev, *task.test)
                 for w in WORD.findall(e.input)}  # fmt: skip
        assert words & vocab <= {"a", "of", "on"}, name
