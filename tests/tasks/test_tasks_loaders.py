"""Loaders: split sizes against the task table, split rules, stable ids, quirk fixes, BBII."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from droiz.exceptions import DataError, UnknownNameError
from droiz.tasks import BBII_TASKS, BENCHMARK_TASKS, list_tasks, load_task, resolve_data_dir
from droiz.tasks import datadir as datadir_module

TABLE = Path(__file__).resolve().parents[3] / "shared" / "docs" / "task_table.json"
OVERLAPS = {"sentence_similarity": 1, "auto_debugging": 1, "periodic_elements": 2}
BBII_SIZES = {
    "causal_judgment": 190,
    "disambiguation_qa": 258,
    "dyck_languages": 1000,
    "epistemic_reasoning": 2000,
    "gender_inclusive_sentences_german": 200,
    "implicatures": 492,
    "linguistics_puzzles": 2000,
    "logical_fallacy_detection": 2800,
    "movie_recommendation": 500,
    "navigate": 1000,
    "object_counting": 1000,
    "operators": 211,
    "presuppositions_as_nli": 735,
    "question_selection": 1590,
    "ruin_names": 448,
    "snarks": 181,
    "sports_understanding": 1000,
    "tense": 286,
    "timedial": 2550,
    "winowhy": 2865,
    "word_sorting": 1900,
    "word_unscrambling": 8917,
}  # fmt: skip  (examples per BBII task file)


def expected_sizes(n_induce: int, n_execute: int, overlap: int = 0) -> dict[str, int]:
    """Split sizes by the split rules (docs/tasks.md), computed from the raw counts."""
    if n_execute:
        test, pool = n_execute - overlap, n_induce
    else:
        test = min(n_induce // 2, 100)
        pool = n_induce - test
    demos = min(pool // 2, 100)
    return {"induce": demos, "dev": pool - demos, "test": test}


def table_rows() -> list[dict]:
    return json.loads(TABLE.read_text())


def test_every_table_task_has_the_documented_sizes_and_metric(load: Callable) -> None:
    rows = table_rows()
    assert len(rows) == 33
    for row in rows:
        task = load(row["task"])
        overlap = OVERLAPS.get(row["task"], 0)
        assert task.sizes == expected_sizes(row["n_induce"], row["n_execute"], overlap), row
        assert task.metric == row["metric"]
        multi = any(len(e.answers) > 1 for e in (*task.test, *task.dev))
        assert multi == row["multi_answer"] or row["task"] == "word_in_context"


def test_the_32_benchmark_tasks() -> None:
    assert len(BENCHMARK_TASKS) == 32 == len(set(BENCHMARK_TASKS))
    assert "ascii_word_recognition" not in BENCHMARK_TASKS
    names = {r["task"] for r in table_rows()} - {"ascii_word_recognition"}
    assert set(BENCHMARK_TASKS) == names
    assert len(list_tasks()) == 33 + 22


def test_bbii_tasks_are_namespaced_and_split(load: Callable) -> None:
    assert {t.removeprefix("bbii/") for t in BBII_TASKS} == set(BBII_SIZES)
    for name, n in BBII_SIZES.items():
        task = load(f"bbii/{name}")
        dropped = sum(int(n.split()[1]) for n in task.notes if n.startswith("dropped"))
        test = min(n // 2, 100)
        assert task.sizes["test"] == test
        assert sum(task.sizes.values()) + dropped == n
        assert task.sizes["induce"] == min((n - test - dropped) // 2, 100)
    assert load("bbii/object_counting").test != load("object_counting").test


def test_bbii_metrics_and_answers(load: Callable) -> None:
    snarks = load("bbii/snarks")
    assert snarks.metric == "mc"
    for e in snarks.test:
        options = e.input.split("\nOptions:\n", 1)[1].split("\n")
        assert set(e.answers) <= {o.removeprefix("- ") for o in options}
        assert e.answers[0] == max(e.fields["target_scores"], key=e.fields["target_scores"].get)
    counting = load("bbii/object_counting")
    assert counting.metric == "em"
    assert all(len(e.answers) == 2 and e.answers[1].isdigit() for e in counting.test)
    assert load("bbii/dyck_languages").metric == "em"  # preferred exact_str_match


def test_test_items_that_occur_in_induce_are_removed_and_reported(
    data_dir: Path, load: Callable
) -> None:
    for name, count in OVERLAPS.items():
        task = load(name)
        note = next(n for n in task.notes if n.startswith("removed"))
        assert note.startswith(f"removed {count} test example")
        removed = note.split(": ", 1)[1].split(", ")
        assert len(removed) == count and not {e.id for e in task.test} & set(removed)
    for name in BENCHMARK_TASKS:
        task = load(name)
        induce_inputs = {e.input for e in (*task.induce, *task.dev)}
        if name != "cause_and_effect":  # inputs are built with a per-example order
            assert not induce_inputs & {e.input for e in task.test}, name


@pytest.mark.parametrize("name", ["sum", "common_concept", "cause_and_effect", "auto_debugging"])
def test_split_reproduces_instructzero_create_split(
    name: str, data_dir: Path, load: Callable
) -> None:
    task = load(name)
    source = "instructzero-extra" if name == "auto_debugging" else "instruction-induction"
    raw = json.loads((data_dir / source / "raw" / "induce" / f"{name}.json").read_text())
    n = len(raw["examples"])
    state = random.getstate()
    try:
        random.seed(0)  # what create_split does
        chosen = random.sample(range(n), min(n // 2, 100))
    finally:
        random.setstate(state)
    assert [e.id for e in task.induce] == [f"induce-{i + 1}" for i in chosen]
    rest = [f"induce-{i + 1}" for i in range(n) if i not in chosen]
    assert [e.id for e in task.dev] == rest


def test_ids_are_stable_unique_and_splits_disjoint(data_dir: Path, load: Callable) -> None:
    for name in ("cs_algorithms", "rhymes", "bbii/navigate", "periodic_elements"):
        task = load(name)
        again = load_task(name, data_dir, seed=3)
        for split in ("induce", "dev", "test"):
            assert [e.id for e in task.split(split)] == [e.id for e in again.split(split)]
            assert task.split(split) == again.split(split)
        ids = [e.id for s in task.splits.values() for e in s]
        assert len(ids) == len(set(ids))


def test_held_out_split_is_seeded_deterministic_and_disjoint(load: Callable) -> None:
    task = load("cs_algorithms")
    assert task.sizes == {"induce": 39, "dev": 40, "test": 78}
    assert any("held out 78 of 157" in n for n in task.notes)
    assert load("cs_algorithms", seed=5).test == task.test  # independent of the run seed
    assert all(e.id.startswith("induce-") for e in task.test)


def test_quirk_fixes(data_dir: Path, load: Callable) -> None:
    raw = json.loads(
        (data_dir / "instruction-induction/raw/execute/common_concept.json").read_text()
    )
    concept = load("common_concept")
    for example in concept.test:
        items = raw["examples"][example.id.split("-")[1]]["items"]
        assert example.input == ", ".join(items) and example.input.endswith(items[-1])
    wic = load("word_in_context")
    for example in wic.test:
        assert example.answers == tuple(example.fields["possible_outputs"])
        assert example.answers[0] == example.fields["output"]
    cause = load("cause_and_effect")
    orders = {e.group for e in (*cause.test, *cause.dev)}
    assert orders == {"cause_first", "effect_first"}
    for e in cause.test:
        assert e.answers == (e.fields["cause"],)
        assert e.fields["cause"] in e.input and e.fields["effect"] in e.input
    assert any("fix:" in n for n in concept.notes + wic.notes + cause.notes)


def test_instructzero_aliases(data_dir: Path) -> None:
    ascii_task = load_task("ascii", data_dir)
    assert ascii_task.name == "ascii_word_recognition"
    assert any("InstructZero's name" in n for n in ascii_task.notes)
    assert load_task("object_count", data_dir).name == "object_counting"
    with pytest.raises(UnknownNameError, match="did you mean 'antonyms'"):
        load_task("antonym", data_dir)


def test_a_metric_override_changes_the_scoring_only(
    load: Callable, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snarks = load("bbii/snarks")
    with caplog.at_level("WARNING", logger="droiz.tasks"):
        as_em = load_task("bbii/snarks", data_dir, metric="em")
    warned = [r.getMessage() for r in caplog.records if r.name == "droiz.tasks"]
    assert warned == [
        "--metric em overrides the metric of the built-in task bbii/snarks (mc) for scoring; "
        "its groups still follow mc"
    ]
    assert (snarks.metric, as_em.metric) == ("mc", "em")
    assert as_em.groups == snarks.groups and as_em.test == snarks.test
    case = [snarks.instance(e, "case") for e in snarks.test[:10]]
    assert case == [as_em.instance(e, "case") for e in as_em.test[:10]]  # golds co-transformed


def test_an_unknown_metric_is_refused_before_the_data_are_read(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'contains'"):
        load_task("sum", tmp_path / "no-data-here", metric="contain")


def test_natural_groups(load: Callable) -> None:
    ortho = load("orthography_starts_with")
    assert ortho.natural_groups == ("in_domain", "out_of_domain")
    assert sum(e.group == "in_domain" for e in ortho.test) == 50
    animal = load("larger_animal")
    assert sum(e.group == "answer_first" for e in animal.test) == 50
    for e in animal.test:
        first = e.input.split(", ")[0]
        assert (e.group == "answer_first") == (first == e.answers[0])
    plural = {(e.input, e.group) for e in load("singular_to_plural").test}
    assert ("life", "irregular") in plural and ("genus", "irregular") in plural
    assert ("end", "regular_s") in plural


def test_bbii_label_tasks_group_by_their_gold_option(load: Callable) -> None:
    sports = load("bbii/sports_understanding")
    assert sports.natural_groups == ("implausible", "plausible")
    for e in sports.test:
        assert e.answers == (e.group,)  # the one best-scored option, as written
    epistemic = load("bbii/epistemic_reasoning")
    assert epistemic.natural_groups == ("entailment", "non_entailment")
    golds = {e.answers[0] for e in epistemic.test if e.group == "non_entailment"}
    assert golds == {"non-entailment"}
    nli = load("bbii/presuppositions_as_nli")
    assert nli.natural_groups == ("contradiction", "entailment", "neutral")
    assert load("bbii/snarks").natural_groups == ()  # options differ from example to example
    dataset = sports.dataset("test", groups=sports.natural_groups)
    assert {i.input for i in dataset} == {e.input for e in sports.test}  # clean inputs


def test_data_dir_resolution(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datadir_module, "default_download_dir", lambda: tmp_path / "nothing")
    monkeypatch.setenv("DROIZ_DATA_DIR", str(data_dir))
    assert resolve_data_dir() == data_dir
    assert resolve_data_dir(tmp_path) == tmp_path  # explicit wins
    monkeypatch.delenv("DROIZ_DATA_DIR")
    with pytest.raises(DataError, match=r"DROIZ_DATA_DIR.*droiz data download"):
        resolve_data_dir()
    with pytest.raises(DataError, match="does not exist"):
        resolve_data_dir(tmp_path / "missing")
    downloaded = tmp_path / "dl"
    (downloaded / "bigbench-ii").mkdir(parents=True)
    monkeypatch.setattr(datadir_module, "default_download_dir", lambda: downloaded)
    assert resolve_data_dir() == downloaded
