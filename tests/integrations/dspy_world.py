"""A fake task for DSPy programs on droiz's loopback OpenAI-compatible server.

Three groups of questions (animal sounds, capitals' countries, sums); the server answers in the
format of DSPy's chat adapter (``[[ ## answer ## ]]`` markers), correctly or not depending on the
instruction in the system message and on the question's group:

* ``CURRENT`` (the program's own): right on the first question of each group only;
* ``MEAN``: right on every animal and city question, wrong on every sum: the best mean, and a
  failed group;
* ``ROBUST``: right on the first three questions of every group: a lower mean, no failed group.

A proposer's request (DSPy's ``Predict`` of the APE template) is answered with ``PROPOSED``,
which the server grades as ``ROBUST``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import dspy

from droiz.testing import FakeOpenAIServer

CURRENT = "Answer the question."
MEAN = "Answer like an expert would."
ROBUST = "Answer carefully, one fact at a time."
PROPOSED = "Answer carefully and check every fact."

QUESTIONS: dict[str, list[tuple[str, str]]] = {
    "animals": [
        ("What sound does a cow make?", "moo"),
        ("What sound does a dog make?", "woof"),
        ("What sound does a cat make?", "meow"),
        ("What sound does a duck make?", "quack"),
        ("What sound does a sheep make?", "baa"),
        ("What sound does an owl make?", "hoot"),
    ],
    "cities": [
        ("Which country is the city of Paris in?", "France"),
        ("Which country is the city of Rome in?", "Italy"),
        ("Which country is the city of Tokyo in?", "Japan"),
        ("Which country is the city of Madrid in?", "Spain"),
        ("Which country is the city of Berlin in?", "Germany"),
        ("Which country is the city of Lisbon in?", "Portugal"),
    ],
    "numbers": [
        ("What is 2 plus 3?", "5"),
        ("What is 7 plus 1?", "8"),
        ("What is 4 plus 4?", "8"),
        ("What is 6 plus 3?", "9"),
        ("What is 1 plus 1?", "2"),
        ("What is 5 plus 4?", "9"),
    ],
}

_QUESTION = re.compile(r"\[\[ ## question ## \]\]\n(.*?)(?:\n\n|\Z)", re.DOTALL)


def metric(example: dspy.Example, prediction: dspy.Prediction, trace: Any = None) -> bool:
    return str(prediction.answer).strip() == example.answer


def examples(sizes: Mapping[str, int] | None = None) -> list[dspy.Example]:
    """``sizes[group]`` questions of each group (default 5 each), with a ``topic`` field."""
    sizes = sizes or dict.fromkeys(QUESTIONS, 5)
    return [
        dspy.Example(question=q, answer=a, topic=topic).with_inputs("question")
        for topic, n in sizes.items()
        for q, a in QUESTIONS[topic][:n]
    ]


class World:
    """The server, a DSPy LM on it (DSPy's cache left on, as by default) and DSPy configured
    to use it while entered.

    Args:
        flaky_group: Questions of this group get an unparsable chat answer (the chat adapter then
            falls back to JSON, a second request, which is answered in JSON).
        mean_fails: The group ``MEAN`` gets wrong (``None``: none, it is then best everywhere).
        model: The model name of the LM.
    """

    def __init__(
        self,
        flaky_group: str | None = None,
        mean_fails: str | None = "numbers",
        model: str = "openai/fake",
    ) -> None:
        self.flaky_group, self.mean_fails = flaky_group, mean_fails
        self.truth = {
            q: (topic, i, a) for topic, qa in QUESTIONS.items() for i, (q, a) in enumerate(qa)
        }
        self.server = FakeOpenAIServer(answer=self.answer)
        self.model = model
        self._context: Any = None

    def __enter__(self) -> World:
        self.server.start()
        self.lm = self.make_lm()
        self._context = dspy.context(lm=self.lm)
        self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)
        self.server.close()

    def make_lm(self, **options: Any) -> dspy.LM:
        return dspy.LM(self.model, api_base=self.server.base_url, api_key="k", **options)

    def program(self) -> dspy.Predict:
        program = dspy.Predict("question -> answer")
        program.signature = program.signature.with_instructions(CURRENT)
        return program

    def right(self, instruction: str, question: str) -> bool:
        topic, i, _ = self.truth[question]
        if "carefully" in instruction:
            return i < 3
        if "expert" in instruction:
            return topic != self.mean_fails
        return i == 0

    def answer(self, prompt: str, body: Mapping[str, Any]) -> str:
        system = body["messages"][0]["content"]
        if "I gave a friend an instruction" in system:
            return f"[[ ## instruction ## ]]\n{PROPOSED}\n\n[[ ## completed ## ]]"
        instruction = system.rpartition("your objective is:")[2].strip()
        match = _QUESTION.search(prompt)
        assert match, prompt
        question = match[1].strip()
        topic, _, gold = self.truth[question]
        text = gold if self.right(instruction, question) else "wrong"
        if "Outputs will be a JSON object" in system:
            return json.dumps({"answer": text})
        if topic == self.flaky_group:
            return "I am not sure."
        return f"[[ ## answer ## ]]\n{text}\n\n[[ ## completed ## ]]"
