"""Two behaviours of DSPy that matter to budgets and resumes, measured on loopback servers.

1. **GEPA's metric-call budget.** ``dspy.GEPA(max_metric_calls=40)`` on a one-predictor program
   (5 train, 5 val examples, the program's LM doubling as the reflection LM): how many program
   runs it made (requests of the program's LM), how often it called the metric, and what GEPA
   itself counted.
2. **DSPy's cache and ``api_base``.** Two servers serve the same model name with different
   answers; with DSPy's cache on (its default), a program asks server A, then the same question
   through an LM pointed at server B: does B see the request, and whose answer comes back?

    OMP_NUM_THREADS=1 python benchmarks/bench_dspy_facts.py

Offline: DSPy's model metadata stays local and its disk cache goes to a temporary folder.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "true"
os.environ["DSPY_CACHEDIR"] = tempfile.mkdtemp(prefix="dspy-facts-")

import dspy

from droiz.testing import FakeOpenAIServer

_QUESTION = re.compile(r"\[\[ ## question ## \]\]\n(.*?)(?:\n\n|\Z)", re.DOTALL)


def gepa_calls() -> dict[str, int]:
    counts = {"metric": 0, "reflection": 0}

    def answer(prompt: str, body: Any) -> str:
        if _QUESTION.search(prompt) is None:  # the reflection LM's request
            counts["reflection"] += 1
            text = f"Answer in one word (version {counts['reflection']})."
            return f"[[ ## new_instruction ## ]]\n{text}\n\n[[ ## completed ## ]]"
        return "[[ ## answer ## ]]\nmoo\n\n[[ ## completed ## ]]"

    def metric(
        gold: Any, pred: Any, trace: Any = None, name: Any = None, ptrace: Any = None
    ) -> float:
        counts["metric"] += 1
        return float(pred.answer == gold.answer)

    data = [
        dspy.Example(question=f"Question {i}?", answer="moo" if i % 2 else "baa").with_inputs(
            "question"
        )
        for i in range(10)
    ]
    with FakeOpenAIServer(answer=answer) as server:
        lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="k", cache=False)
        with dspy.context(lm=lm):
            gepa = dspy.GEPA(
                metric=metric, max_metric_calls=40, reflection_lm=lm, seed=0, track_stats=True
            )
            program = gepa.compile(
                dspy.Predict("question -> answer"), trainset=data[:5], valset=data[5:]
            )
        return {
            "gepa_counted": int(program.detailed_results.total_metric_calls),
            "program_runs": server.n_requests - counts["reflection"],
            "metric_calls": counts["metric"],
            "reflection_requests": counts["reflection"],
        }


def shared_cache() -> dict[str, Any]:
    def server_saying(word: str) -> FakeOpenAIServer:
        return FakeOpenAIServer(
            answer=lambda prompt, body: f"[[ ## answer ## ]]\n{word}\n\n[[ ## completed ## ]]"
        )

    program = dspy.Predict("question -> answer")
    with server_saying("from A") as a, server_saying("from B") as b:
        lm_a = dspy.LM("openai/same-name", api_base=a.base_url, api_key="k")
        lm_b = dspy.LM("openai/same-name", api_base=b.base_url, api_key="k")
        with dspy.context(lm=lm_a):
            program(question="Which server answers?")
        with dspy.context(lm=lm_b):
            got = program(question="Which server answers?").answer
        return {"requests_a": a.n_requests, "requests_b": b.n_requests, "answer_via_b": got}


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help; no options
    print(f"DSPy {dspy.__version__}")
    print("GEPA(max_metric_calls=40):", gepa_calls())
    print("same model name, two endpoints, DSPy's cache on:", shared_cache())
