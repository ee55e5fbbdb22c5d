"""Prompt templates and text processing shared by generators and executors.

Templates use InstructZero's placeholders: ``[PROMPT]`` (the instruction), ``[INPUT]`` (the
example input), ``[OUTPUT]`` and ``[full_DEMO]`` (the formatted demos); the tasks' templates use
the same. Substitution is a single pass over the template, so an instruction or input that itself
contains a placeholder is inserted verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Demo = tuple[str, str]
"""One task demonstration: ``(input, output)``."""

DEFAULT_TEMPLATE = "Instruction: [PROMPT]\n\nInput: [INPUT]\n\nOutput:"
"""The evaluation template, for dev and test alike."""

DEMO_TEMPLATE = "Input: [INPUT]\nOutput: [OUTPUT]"
"""How one demo is written; demos are joined by a blank line."""

INDUCTION_TEMPLATE = "[full_DEMO]\n\nThe instruction was to"
"""The induction question asked of the open LLM (InstructZero / INSTINCT)."""

APE_TEMPLATE = (
    "I gave a friend an instruction and several inputs. Based on the instruction they produced "
    "the following input-output pairs:\n\n[full_DEMO]\n\nThe instruction was to"
)
"""The APE-style proposal prompt used by :class:`~droiz.llm.api_proposer.APIProposer`."""

VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
"""Vicuna v1.1's system prompt, used when a model has no chat template."""

_PLACEHOLDERS = re.compile(r"\[(PROMPT|INPUT|OUTPUT|full_DEMO)\]")
_LEAD_IN = re.compile(r"^\s*(?:the\s+)?instruction\s+was\s+to\b[\s:,\-?]*", re.IGNORECASE)
_FIRST_SENTENCE = re.compile(r"^(.*?[.!?][\"')\]]*)(?=\s+[A-Z\"'(\[])")


def fill(template: str, **values: str) -> str:
    """Replace placeholders in one pass; ``values`` keys are ``PROMPT``, ``INPUT``, ``OUTPUT``, ...

    Example:
        >>> fill(DEFAULT_TEMPLATE, PROMPT="Negate it.", INPUT="I am here")
        'Instruction: Negate it.\\n\\nInput: I am here\\n\\nOutput:'
    """

    return _PLACEHOLDERS.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def render_prompt(template: str, instruction: str, input_text: str) -> str:
    """The execution prompt: ``template`` with the instruction and the example input filled in."""
    return fill(template, PROMPT=instruction, INPUT=input_text, OUTPUT="")


def format_demos(demos: Sequence[Demo], template: str = DEMO_TEMPLATE) -> str:
    """Write demos as ``Input: x\\nOutput: y`` blocks separated by a blank line."""
    return "\n\n".join(fill(template, INPUT=str(x), OUTPUT=str(y)) for x, y in demos)


def induction_prompt(demos: Sequence[Demo], template: str = INDUCTION_TEMPLATE) -> str:
    """The induction question with the demos filled in."""
    return fill(template, full_DEMO=format_demos(demos))


def vicuna_prompt(user_text: str) -> str:
    """Vicuna v1.1's conversation format for one user turn, ready for the assistant's answer."""
    return f"{VICUNA_SYSTEM} USER: {user_text} ASSISTANT:"


def extract_instruction(text: str) -> str:
    """Extract the instruction from a generated continuation of "... The instruction was to".

    Rules, in order:

    1. drop a repeated lead-in "The instruction was to" (any case, with ``:``/``?``/``,`` after it);
    2. keep the first non-empty line;
    3. keep the first sentence: cut after ``.``, ``!`` or ``?`` (and closing quotes or brackets)
       when whitespace and an upper-case letter, quote or bracket follow ("e.g. the" is not cut);
    4. strip whitespace and one pair of matching surrounding quotes.

    The result may be empty when the model wrote nothing usable.

    Example:
        >>> extract_instruction(" write the antonym of the word. Then stop.\\nInput: x")
        'write the antonym of the word.'
    """
    text = _LEAD_IN.sub("", text.lstrip(), count=1)
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    first = _FIRST_SENTENCE.match(line)
    line = (first.group(1) if first else line).strip()
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "\"'":
        line = line[1:-1].strip()
    return line
