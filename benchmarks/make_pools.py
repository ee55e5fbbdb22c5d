"""Build the ``pool:`` instruction files of the real-model benchmark.

A 135M model cannot write useful instructions (``docs/results.md``), so the real-model search
chooses among candidates written by hand, built combinatorially per task:

    instruction = PHRASING + " " + FORMAT + " " + HANDLING

- 5 phrasings of the task (what to do);
- 4 output-format directives (none, "only the answer", "one word", "in double quotes"): how the
  answer is written, which decides whether the ``chat-answer`` filter can extract it;
- 3 case/noise-handling directives (none, "ignore capitals and typos", "ignore extra notes"):
  aimed at the ``case``, ``typo`` and ``distractor`` shift groups.

5 x 4 x 3 = 60 instructions per task, in a fixed order (phrasing, then format, then handling).
Each task gets three files:

- ``TASK.txt``: the 60 instructions, one per line (the ``pool:FILE`` format of
  ``droiz.llm.pool.load_pool``);
- ``TASK.jsonl``: the same 60, one ``{"instruction": ..., "features": [...]}`` per line, the
  features the one-hot of the instruction's factors (5 phrasing + 4 format + 3 handling = 12);
- ``TASK-factorial.jsonl``: the factorial subset, in the same format: the half fraction whose
  factor indices (phrasing + format + handling) sum to an even number. It has 30 instructions,
  every level of every factor (each phrasing 6 times, each handling directive 10 times, each
  format 7 or 8 times) and every phrasing x handling pair twice.

    python benchmarks/make_pools.py                         # writes benchmarks/pools/TASK.*
    python benchmarks/make_pools.py --out DIR --tasks antonyms
    python benchmarks/make_pools.py --check                 # exit 1 if a file is out of date

``--sample N --executor hf:smollm2-135m`` additionally evaluates every k-th instruction (N of
them) on every shift group of the dev split and prints a table, to show that the instructions fare
differently on the groups (answers go to the shared response cache, so a rerun is free).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
POOL_DIR = HERE / "pools"

# Per task: the phrasings, and the noun the directives refer to ("the letter", "the animal").
TASKS: dict[str, tuple[tuple[str, ...], str]] = {
    "first_word_letter": (
        (
            "Write the first letter of the word.",
            "What is the first letter of the given word?",
            "Give the initial letter of the input word.",
            "Output the letter that the word starts with.",
            "Tell me which letter the word begins with.",
        ),
        "letter",
    ),
    "larger_animal": (
        (
            "Write the larger of the two animals.",
            "Which of the two animals is bigger?",
            "Name the animal that is larger in size.",
            "Compare the two animals and give the bigger one.",
            "Tell me which animal is the largest.",
        ),
        "animal name",
    ),
    "singular_to_plural": (
        (
            "Write the plural form of the word.",
            "What is the plural of the given word?",
            "Turn the singular noun into its plural.",
            "Give the word in the plural.",
            "Tell me the plural of this noun.",
        ),
        "plural word",
    ),
    "antonyms": (
        (
            "Write the opposite of the word.",
            "What is the antonym of the given word?",
            "Give a word with the opposite meaning.",
            "Output the antonym of the input word.",
            "Tell me the opposite of this word.",
        ),
        "antonym",
    ),
    "sentiment": (
        (
            "Classify the sentiment of the sentence as positive or negative.",
            "Is the sentiment of this review positive or negative?",
            "Decide whether the text expresses a positive or a negative opinion.",
            "Label the movie review as positive or negative.",
            "Tell me if the sentence is positive or negative.",
        ),
        "label",
    ),
    "rhymes": (
        (
            "Write a word that rhymes with the input word.",
            "What word rhymes with the given word?",
            "Give a rhyme for the word.",
            "Output a word that rhymes with the input.",
            "Tell me a word that ends with the same sound as this word.",
        ),
        "rhyming word",
    ),
    "word_in_context": (
        (
            "Does the word have the same meaning in both sentences? Answer yes or no.",
            "Is the given word used with the same sense in the two sentences?",
            "Decide whether the word means the same thing in sentence 1 and sentence 2.",
            "Tell me if the word has the same meaning in both sentences or not.",
            "Compare the meaning of the word in the two sentences: same or not the same?",
        ),
        "answer",
    ),
    "second_word_letter": (
        (
            "Write the second letter of the word.",
            "What is the second letter of the given word?",
            "Give the letter that comes after the first letter of the word.",
            "Output the second letter of the input word.",
            "Tell me which letter is in second position in the word.",
        ),
        "letter",
    ),
    "object_counting": (
        (
            "Count the objects in the sentence.",
            "How many items does the speaker have in total?",
            "Add up all the things listed and give the total number.",
            "Output the total number of objects mentioned.",
            "Tell me how many objects there are altogether.",
        ),
        "number",
    ),
    "synonyms": (
        (
            "Write a synonym of the word.",
            "What is a word with the same meaning as the given word?",
            "Give another word that means the same.",
            "Output a synonym of the input word.",
            "Tell me a word similar in meaning to this word.",
        ),
        "synonym",
    ),
    "negation": (
        (
            "Negate the sentence.",
            "Rewrite the sentence so that it says the opposite.",
            "Add a negation to the statement.",
            "Output the negative form of the input sentence.",
            'Tell me the same sentence with "not" added.',
        ),
        "negated sentence",
    ),
    "active_to_passive": (
        (
            "Rewrite the sentence in the passive voice.",
            "What is the passive form of the given sentence?",
            "Turn the active sentence into a passive one.",
            "Give the same sentence in the passive voice.",
            "Tell me how this sentence reads in the passive.",
        ),
        "passive sentence",
    ),
    "bbii/snarks": (
        (
            "Which of the two statements is sarcastic?",
            "Decide which sentence, (a) or (b), is meant sarcastically.",
            "One of the two statements is sarcastic: choose it.",
            "Pick the option that is the sarcastic remark.",
            "Tell me whether (a) or (b) is the sarcastic statement.",
        ),
        "option",
    ),
    "bbii/sports_understanding": (
        (
            "Is the sentence plausible or implausible?",
            "Decide whether the sports statement is plausible or implausible.",
            "Could this sentence about sports be true? Say plausible or implausible.",
            "Judge the sentence as plausible or implausible.",
            "Tell me if the athlete and the action in the sentence fit together.",
        ),
        "option",
    ),
    "bbii/implicatures": (
        (
            "Does the reply mean yes or no?",
            "Decide whether the speaker's answer implies yes or no.",
            "Read the dialogue and say what the response means: yes or no.",
            "Interpret the reply to the question as yes or no.",
            "Tell me if the second speaker is saying yes or no.",
        ),
        "option",
    ),
    "bbii/epistemic_reasoning": (
        (
            "Does the premise entail the hypothesis? Answer entailment or non-entailment.",
            "Decide whether the hypothesis follows from the premise: entailment or non-entailment.",
            "Classify the premise and hypothesis pair as entailment or non-entailment.",
            "Is the hypothesis entailed by the premise, or not?",
            "Tell me if the hypothesis must be true whenever the premise is true.",
        ),
        "option",
    ),
    "bbii/presuppositions_as_nli": (
        (
            "Does sentence 1 entail sentence 2? Answer entailment, neutral or contradiction.",
            "Decide the relation between the two sentences: entailment, neutral or contradiction.",
            "Classify the sentence pair as entailment, neutral or contradiction.",
            "Is sentence 2 entailed by, neutral to, or contradicted by sentence 1?",
            "Tell me if sentence 2 follows from sentence 1, is unrelated, or contradicts it.",
        ),
        "option",
    ),
}

# The answer filter of each task (``chat-answer`` unless named here): SmolLM2 answers larger_animal
# with an article ("The larger of the two animals is a donkey."), which exact match rejects.
# It answers word_in_context "No, the word ... has the same meaning" (``chat-answer`` would keep
# the quoted word): the leading yes/no is the answer.
FILTERS: dict[str, str] = {
    "larger_animal": "chat-answer,regex:^(?:(?:a|an|the) )?(.+)",
    "word_in_context": r"first-line,regex:(?i)^\W*(yes|no|not the same|same)\b",
}
DEFAULT_FILTER = "chat-answer"


def answer_filter(task: str) -> str:
    """The answer filter chain the real-model benchmark uses for ``task``."""
    return FILTERS.get(task, DEFAULT_FILTER)


FORMATS = (
    "",
    "Answer with only the {noun}.",
    "Reply with one word and nothing else.",
    "Put the answer in double quotes.",
)
HANDLING = (
    "",
    "Ignore capital letters and typos in the input.",
    "Ignore any note or extra text after the input.",
)


def factor_levels(task: str) -> list[tuple[int, int, int]]:
    """The (phrasing, format, handling) indices of each of the 60 instructions, in pool order."""
    sizes = (len(TASKS[task][0]), len(FORMATS), len(HANDLING))
    return list(itertools.product(*(range(n) for n in sizes)))


def build_pool(task: str) -> list[str]:
    """The 60 instructions of ``task``: phrasings x formats x handling, in that order."""
    phrasings, noun = TASKS[task]
    out = []
    for p, f, h in factor_levels(task):
        parts = [phrasings[p], FORMATS[f].format(noun=noun), HANDLING[h]]
        out.append(" ".join(part for part in parts if part))
    return out


def features(task: str) -> list[list[int]]:
    """The one-hot factor features of each instruction: phrasing, then format, then handling."""
    sizes = (len(TASKS[task][0]), len(FORMATS), len(HANDLING))
    rows = []
    for levels in factor_levels(task):
        row: list[int] = []
        for level, size in zip(levels, sizes, strict=True):
            row += [int(k == level) for k in range(size)]
        rows.append(row)
    return rows


def is_factorial(levels: tuple[int, int, int]) -> bool:
    """Membership of the factorial subset: the factor indices sum to an even number."""
    return sum(levels) % 2 == 0


def pool_files(task: str) -> dict[str, str]:
    """``{file name: content}`` of ``task``'s three pool files (see the module docstring)."""
    texts, feats, levels = build_pool(task), features(task), factor_levels(task)
    rows = [
        json.dumps({"instruction": t, "features": f}, ensure_ascii=False)
        for t, f in zip(texts, feats, strict=True)
    ]
    chosen = [r for r, lv in zip(rows, levels, strict=True) if is_factorial(lv)]
    return {
        f"{task}.txt": "\n".join(texts) + "\n",
        f"{task}.jsonl": "\n".join(rows) + "\n",
        f"{task}-factorial.jsonl": "\n".join(chosen) + "\n",
    }


def pool_path(task: str, out: Path = POOL_DIR) -> Path:
    return out / f"{task}.txt"


def write_pools(tasks: list[str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for task in tasks:
        for name, content in pool_files(task).items():
            path = out / name  # a BBII task's files go in a bbii/ folder
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            paths.append(path)
    return paths


def make_real_executor(
    spec: str,
    *,
    base_url: str | None = None,
    max_tokens: int = 20,
    concurrency: int | None = None,
    cache_dir: str | None = None,
) -> Any:
    """A cached executor, greedy, with an answer limit of ``max_tokens`` (either kind)."""
    from droiz.llm import ResponseCache
    from droiz.llm.backends import build_executor

    return build_executor(
        spec,
        cache=ResponseCache(cache_dir),
        base_url=base_url,
        concurrency=concurrency,
        max_answer_tokens=max_tokens,
    )


def sample_table(task: str, executor: Any, n_sample: int, n_dev: int) -> None:
    """Evaluate ``n_sample`` evenly spaced pool instructions on every group of the dev split."""
    import droiz

    pool = build_pool(task)
    step = max(1, len(pool) // n_sample)
    picks = pool[::step][:n_sample]
    for number, instruction in enumerate(picks):
        result = droiz.evaluate(
            task,
            instruction,
            executor=executor,
            split="dev",
            n=n_dev,
            answer_filter=answer_filter(task),
        )
        groups = list(result.report.per_group)
        if number == 0:
            print(f"{task:18s} " + " ".join(f"{g[:5]:>5s}" for g in groups) + "  worst")
        cells = " ".join(f"{100 * result.report.per_group[g]:5.0f}" for g in groups)
        print(f"{task:18s} {cells}  {100 * result.report.worst_group:5.0f}  {instruction}")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated (default: all)")
    p.add_argument("--out", type=Path, default=POOL_DIR, help="folder (default benchmarks/pools)")
    p.add_argument("--check", action="store_true", help="only check the files are up to date")
    p.add_argument("--sample", type=int, default=0, help="evaluate N instructions per task")
    p.add_argument("--executor", default="hf:smollm2-135m", help="executor for --sample")
    p.add_argument("--base-url", help="endpoint of an openai: executor for --sample")
    p.add_argument("--n-dev", type=int, default=10, help="dev examples per group for --sample")
    p.add_argument("--max-tokens", type=int, default=20, help="answer limit for --sample")
    p.add_argument("--concurrency", type=int, help="requests in flight for --sample")
    p.add_argument("--cache-dir", help="response cache for --sample (default: the user cache)")
    args = p.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        p.error(f"--tasks: no pool recipe for {', '.join(unknown)} (have: {', '.join(TASKS)})")
    if args.check:
        stale = [
            str(args.out / name)
            for t in tasks
            for name, content in pool_files(t).items()
            if not (args.out / name).is_file()
            or (args.out / name).read_text(encoding="utf-8") != content
        ]
        for path in stale:
            print(f"out of date: {path} (run python benchmarks/make_pools.py)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_pools(tasks, args.out):
        print(f"wrote {path} ({len(path.read_text(encoding='utf-8').splitlines())} instructions)")
    if args.sample:
        executor = make_real_executor(
            args.executor, base_url=args.base_url, max_tokens=args.max_tokens,
            concurrency=args.concurrency, cache_dir=args.cache_dir,
        )  # fmt: skip
        print("per-group dev accuracy (%, the task's filter), the worst group, the instruction")
        for task in tasks:
            sample_table(task, executor, args.sample, args.n_dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
