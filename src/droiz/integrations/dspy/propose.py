"""APE-style instruction proposals: a DSPy LM reads input-output demos and writes the instruction.

Each proposal shows the proposer a different seeded sample of training examples (the forward
template of APE, Zhou et al. 2023, "Large Language Models Are Human-Level Prompt Engineers") and
asks it for the instruction that produced them, through a DSPy ``Predict`` with the caller's
adapter, so the proposer is any DSPy LM.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import dspy
import numpy as np
from dspy.utils.exceptions import AdapterParseError

from droiz.integrations.dspy.journal import ScoreJournal, digest

logger = logging.getLogger(__name__)


class ProposeInstruction(dspy.Signature):  # type: ignore[misc]  # dspy: no type hints
    """I gave a friend an instruction and some inputs. The friend read the instruction and wrote
    an output for every one of the inputs. Here are the input-output pairs. Write the instruction
    I gave my friend: one short paragraph, in the imperative."""

    examples: str = dspy.InputField(desc="input-output pairs")
    instruction: str = dspy.OutputField(desc="the instruction")


def format_demos(examples: Sequence[Any]) -> str:
    """Input-output pairs of DSPy examples as text (``Input:`` fields, then ``Output:`` fields)."""
    blocks = []
    for ex in examples:
        inputs = "; ".join(f"{k}: {v}" for k, v in ex.inputs().items())
        outputs = "; ".join(f"{k}: {v}" for k, v in ex.labels().items())
        blocks.append(f"Input: {inputs}\nOutput: {outputs}")
    return "\n\n".join(blocks)


def propose(
    lm: Any,
    trainset: Sequence[Any],
    *,
    n: int,
    demos: int,
    seed: int,
    journal: ScoreJournal | None,
    identity: Any,
) -> list[str]:
    """Up to ``n`` instructions proposed by ``lm`` (a metered DSPy LM), each from a seeded sample
    of ``demos`` training examples; answers that cannot be parsed are skipped (and journaled as
    such). A proposal journaled under the same key (``identity``: the proposer's model and
    endpoint, the demos, the index) is reused without a request."""
    rng = np.random.default_rng(seed)
    predict = dspy.Predict(ProposeInstruction)
    out: list[str] = []
    for i in range(n):
        picked = rng.choice(len(trainset), size=min(demos, len(trainset)), replace=False)
        text = format_demos([trainset[j] for j in sorted(picked.tolist())])
        key = digest({"proposer": identity, "examples": text, "index": i})
        record = journal.get("proposal", key) if journal else None
        if record is None:
            try:
                with dspy.context(lm=lm):
                    instruction = str(predict(examples=text).instruction)
            except AdapterParseError as exc:
                logger.warning("proposal %d: the proposer's answer did not parse (%s)", i, exc)
                instruction = None
            record = {"type": "proposal", "key": key, "index": i, "instruction": instruction}
            if journal is not None:
                journal.append(record)
        if record["instruction"] and record["instruction"].strip():
            out.append(record["instruction"].strip())
    return out
