"""Every shift group keeps the gold answers valid.

For tasks that a short program can solve, the program must score 1 on every perturbed example of
every group. The solvers below are written for this test only (they read the perturbed input the
way a careful model would: the first line holds the query, a ``Note:`` line is noise).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from droiz.tasks import Task, score


def first_line(text: str) -> str:
    return text.strip().split("\n")[0].strip()


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", first_line(text))]


def lcs_table(a: str, b: str) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def solve_sorting(text: str) -> str:
    line = next(line for line in text.split("\n") if line.startswith("List:"))
    return " ".join(sorted(line[len("List:") :].split(), key=str.lower))


def solve_lcs(text: str) -> str:
    _, a, b = first_line(text).split()
    return str(lcs_table(a, b))


SOLVERS: dict[str, Callable[[str], str]] = {
    "sum": lambda x: str(sum(numbers(x))),
    "diff": lambda x: str(numbers(x)[0] - numbers(x)[1]),
    "first_word_letter": lambda x: first_line(x)[0],
    "second_word_letter": lambda x: first_line(x)[1],
    "letters_list": lambda x: " ".join(first_line(x)),
    "word_sorting": solve_sorting,
    "cs_algorithms": solve_lcs,
}


def examples_of(task: Task) -> list:
    return [*task.test, *task.dev_subset(40)]


@pytest.mark.parametrize("name", sorted(SOLVERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_a_solver_scores_one_on_every_group(name: str, seed: int, load: Callable) -> None:
    task = load(name, seed)
    solver = SOLVERS[name]
    assert len(task.groups) >= 4
    for example in examples_of(task):
        for group in task.groups:
            inst = task.instance(example, group)
            assert score(task.metric, solver(inst.input), list(inst.answers)) == 1.0, (
                name,
                group,
                inst,
            )


@pytest.mark.parametrize(
    "name", ["second_word_letter", "letters_list", "word_sorting", "cs_algorithms"]
)
def test_recomputing_the_gold_is_needed(name: str, load: Callable) -> None:
    """Under typos the clean gold is wrong for some examples, so the recompute is not vacuous."""
    task = load(name)
    stale = 0
    for example in examples_of(task):
        inst = task.instance(example, "typo")
        stale += score(task.metric, SOLVERS[name](inst.input), list(example.answers)) < 1.0
    assert stale > 0


def test_word_sorting_order_and_case_keep_the_clean_gold(load: Callable) -> None:
    task = load("word_sorting")
    for example in task.test:
        for group in ("order", "case"):
            inst = task.instance(example, group)
            assert inst.answers == example.answers and inst.input != example.input
            assert score("em", solve_sorting(inst.input), list(example.answers)) == 1.0
