"""What a task produces must not change: its prompts are response-cache keys.

For every built-in task, an alias, a metric override and three custom files, this test hashes
(SHA-256, first 16 hex digits) what loading, splitting, grouping, perturbing and scoring produce,
and the executor and generator prompts built from them, for two run seeds. The expected digests
in ``golden-sha256.json`` were computed by droiz before its task loading was reorganised; a
mismatch names the task and the aspect. Update a digest only for a deliberate change, knowing
that a changed prompt makes every user pay for every answer again.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from droiz import llm
from droiz.llm import APE_TEMPLATE, ExecRequest
from droiz.llm.prompts import fill, format_demos, induction_prompt
from droiz.tasks import DEFAULT_TEMPLATE, Instance, Task, list_tasks, load_task

GOLDEN = json.loads((Path(__file__).parent / "golden-sha256.json").read_text(encoding="utf-8"))
SEEDS = (0, 2)
INSTRUCTIONS = ("Answer the question.", "Copy [INPUT] and {input}, then [PROMPT] {instruction}.")
"""The second instruction looks like placeholders of both spellings: it must be sent verbatim."""

EXTRA = {"ascii": {}, "bbii/snarks|em": {"metric": "em"}, "sum|f1": {"metric": "f1"}}
"""An alias and metric overrides: ``key -> load_task options`` (the name is the key's head)."""


def digest(value: Any) -> str:
    blob = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def executor_prompt(instruction: str, inst: Instance) -> str:
    """The prompt the runner sends to the executor for one instance."""
    return ExecRequest(instruction, inst.input, inst.template or DEFAULT_TEMPLATE).prompt


def test_tasks_and_executors_share_the_default_template() -> None:
    assert DEFAULT_TEMPLATE == llm.DEFAULT_TEMPLATE


def aspects(load: Callable[[int], Task]) -> dict[str, str]:
    """``{aspect: digest}`` of a task loaded with each run seed."""
    out: dict[str, list[Any]] = {}
    for seed in SEEDS:
        task = load(seed)
        for name, value in _aspects_of(task).items():
            out.setdefault(name, []).append(value)
    return {name: digest(values) for name, values in out.items()}


def _aspects_of(task: Task) -> dict[str, Any]:
    examples = {
        s: [[e.id, e.input, list(e.answers), e.group] for e in task.split(s)]
        for s in ("induce", "dev", "test")
    }
    data = [task.dataset("dev"), task.dataset("test")]
    if not set(task.groups) & set(task.natural_groups):
        data.append(task.dataset("dev", n=12, assign="round_robin"))
    if task.natural_groups and set(task.groups) != set(task.natural_groups):
        data.append(task.dataset("test", groups=task.natural_groups))
    # the template's spelling is not compared: the rendered prompts are (executor_prompts)
    instances = [
        [
            [i.example_id, i.group, i.input, list(i.answers), i.template is None, i.changed]
            for i in d
        ]
        for d in data
    ]
    prompts = []
    for d in data:
        for instruction in INSTRUCTIONS:
            sent = [executor_prompt(instruction, inst) for inst in d]
            assert d.queries(instruction) == sent  # the task's own rendering is what is sent
            prompts.append(sent)
    demos = [
        [(e.input, e.answers[0]) for e in task.demos(k, seed)] for k, seed in ((5, None), (20, 1))
    ]
    generator = [
        [induction_prompt(d), fill(APE_TEMPLATE, full_DEMO=format_demos(d))] for d in demos
    ]
    scores = []
    for d in data:
        for guess in (
            lambda i: i.answers[0],
            lambda i: i.answers[-1].upper() + ".",
            lambda i: i.input,
        ):
            values = d.score([guess(inst) for inst in d])
            scores.append([values, d.group_means(values)])
    scores.append(data[0].report(data[0].score([i.answers[0] for i in data[0]])).to_dict())
    return {
        "examples": [task.name, task.source, task.sizes, examples, list(task.notes)],
        "groups": [task.metric, task.groups, task.natural_groups, task.valid_groups],
        "dev_subset": [[e.id for e in task.dev_subset(n)] for n in (5, 20, 50)],
        "instances": [instances, task.change_rates("test"), task.change_rates("dev")],
        "executor_prompts": digest(prompts),
        "generator_prompts": generator,
        "scores": scores,
    }


def check(key: str, load: Callable[[int], Task]) -> None:
    got = aspects(load)
    changed = {a: (GOLDEN[key].get(a), d) for a, d in got.items() if GOLDEN[key].get(a) != d}
    assert not changed, f"{key}: changed (expected, got): {changed}"


@pytest.mark.parametrize("name", list_tasks())
def test_builtin_tasks_are_unchanged(name: str, data_dir: Path) -> None:
    check(name, lambda seed: load_task(name, data_dir, seed=seed))


@pytest.mark.parametrize("key", sorted(EXTRA))
def test_aliases_and_metric_overrides_are_unchanged(key: str, data_dir: Path) -> None:
    name = key.split("|")[0]
    check(key, lambda seed: load_task(name, data_dir, seed=seed, **EXTRA[key]))


def _rows(n: int) -> list[dict[str, Any]]:
    words = ("alpha", "Bravo charlie", "delta, echo and foxtrot", "golf [INPUT]", "{input} hotel")
    rows = []
    for i in range(n):
        text = f"{words[i % len(words)]} number {i}"
        rows.append({"input": text, "output": [f"answer {i}", f"Reply {i % 3}"], "id": f"r{i}"})
    return rows


def _custom_files(root: Path) -> dict[str, tuple[Path, str]]:
    grouped = root / "grouped.jsonl"
    rows = _rows(30)
    for i, row in enumerate(rows):
        row["group"] = ("north", "south", "east")[i % 3]
    grouped.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    split = root / "split.jsonl"
    rows = _rows(24)
    for i, row in enumerate(rows):
        row["split"] = "test" if i % 4 == 0 else "induce"
    split.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    table = root / "table.csv"
    with table.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["input", "output", "output_2"])
        for row in _rows(40):
            writer.writerow([row["input"], *row["output"]])
    return {
        "grouped.jsonl": (grouped, "em"),
        "split.jsonl": (split, "f1"),
        "table.csv": (table, "mc"),
    }


@pytest.mark.parametrize("key", ["grouped.jsonl", "split.jsonl", "table.csv"])
def test_custom_task_files_are_unchanged(key: str, tmp_path: Path) -> None:
    path, metric = _custom_files(tmp_path)[key]
    check(key, lambda seed: load_task(path, metric=metric, seed=seed))
