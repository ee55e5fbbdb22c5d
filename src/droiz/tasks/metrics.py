"""Scoring metrics, faithful to instruction induction's ``utility.py`` with its plain bugs fixed.

Every metric compares a prediction with each acceptable gold answer after :func:`normalize` and
takes the maximum over the golds. The metrics, by name:

- ``em``: exact match of the normalised strings (the default);
- ``f1``: token F1 of the normalised strings (common_concept, informal_to_formal);
- ``es``: exact set, equality of the sets of normalised tokens (orthography_starts_with,
  taxonomy_animal);
- ``contains``: the normalised gold occurs in the normalised prediction as a whole-word span
  (synonyms);
- ``mc``: multiple choice (BBII), the normalised gold *with case kept* occurs in the normalised
  prediction (case kept) as a whole-word span.

Fixes relative to the original code (each changes a score only where the original was plainly
wrong; see ``docs/tasks.md``):

1. :func:`normalize` strips the result once more at the end, so "p l a c e ." or "yes\\r\\n" no
   longer keep a trailing space or carriage return that fails an exact match.
2. ``contains`` escapes the gold before building its regular expression, an empty normalised
   gold matches only an empty prediction (the original's empty pattern matched every prediction)
   and word boundaries are "no word character next to the match" rather than ``\\b``, so a gold
   that starts or ends with a symbol (``"€"``) can be found; for golds that start and end with a
   letter or digit (every built-in gold) this is the original test.
3. ``f1`` scores a prediction and a gold that both normalise to no tokens as ``em`` does (fix 6).
4. ``mc`` matches whole words (the original's plain substring test scored gold "no" as found in
   "I do not know") and an empty gold matches only an empty prediction.
5. ``mc`` keeps hyphenated words whole: splitting them found gold "entailment" in the other
   option, "non-entailment" (bbii/epistemic_reasoning). A hyphen still matches a space inside
   the gold ("Austin-Powers" is "Austin Powers").
6. A gold of ASCII punctuation only (bbii/dyck_languages' closing brackets, ``") ]"``)
   normalises to nothing with fix 1 (the original kept its spaces, so ``"] )"`` matched), and
   so did every prediction without a letter or digit: an empty answer scored 1.0 on all of
   dyck_languages. Every metric now compares such a gold with its symbols kept: the first
   lines of prediction and gold, whitespace removed and a final ``"."`` dropped, must be equal
   (:func:`symbols`). This also covers fix 3's case and the empty golds of fixes 2 and 4.
"""

from __future__ import annotations

import functools
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

from droiz.exceptions import ConfigError
from droiz.registry import Registry

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_PUNCTUATION_BUT_HYPHEN = str.maketrans("", "", string.punctuation.replace("-", ""))

MetricFn = Callable[[str, str], float]
"""A metric on one (prediction, gold) pair, returning a score in [0, 1]."""

METRICS: Registry[MetricFn] = Registry("metric")
"""The metrics by name: ``em``, ``f1``, ``es``, ``contains``, ``mc``."""

DEFAULT_METRIC = "em"

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "check_metric",
    "normalize",
    "score",
    "score_one",
    "symbols",
]


def normalize(text: str, lowercase: bool = True, split_hyphens: bool = True) -> str:
    """Instruction induction's answer normalisation, plus a final strip (fix 1).

    Steps: replace ``" and "`` by a space; replace ``"Sentence 1:"`` and ``"Sentence 2:"`` by a
    space; strip; keep the first line; keep the text before the first ``"."``; lowercase
    (optional); replace ``"-"`` by a space (optional); delete ASCII punctuation; strip.

    Args:
        text: A prediction or a gold answer.
        lowercase: Whether to lowercase (``mc`` keeps the case).
        split_hyphens: Whether ``"-"`` becomes a space (``mc`` keeps it: fix 5).
    """
    text = text.replace(" and ", " ")
    text = text.replace("Sentence 1:", " ").replace("Sentence 2:", " ")
    text = text.strip().split("\n")[0].split(".")[0]
    if lowercase:
        text = text.lower()
    if split_hyphens:
        text = text.replace("-", " ")
    text = text.translate(_PUNCTUATION if split_hyphens else _PUNCTUATION_BUT_HYPHEN)
    return text.strip()


def symbols(text: str) -> str:
    """The first line of ``text`` with all whitespace removed and a final ``"."`` dropped: how a
    gold that :func:`normalize` empties is compared (fix 6)."""
    lines = text.strip().split("\n")
    return "".join(lines[0].split()).removesuffix(".")


def _builtin(name: str) -> Callable[[MetricFn], MetricFn]:
    """Register a built-in metric under ``name``, with fix 6 in front of it: a gold that
    :func:`normalize` empties is compared by its :func:`symbols`, whatever the metric."""

    def register(fn: MetricFn) -> MetricFn:
        @functools.wraps(fn)
        def metric(prediction: str, gold: str) -> float:
            if not normalize(gold):
                return float(symbols(prediction) == symbols(gold))
            return fn(prediction, gold)

        return METRICS.register(name)(metric)

    return register


@_builtin("em")
def exact_match(prediction: str, gold: str) -> float:
    """1.0 if the normalised strings are equal."""
    return float(normalize(prediction) == normalize(gold))


@_builtin("f1")
def token_f1(prediction: str, gold: str) -> float:
    """Token F1 of the normalised strings (bag of tokens)."""
    pred = normalize(prediction).split()
    true = normalize(gold).split()
    same = sum((Counter(pred) & Counter(true)).values())
    if same == 0:
        return 0.0
    precision = same / len(pred)
    recall = same / len(true)
    return 2 * precision * recall / (precision + recall)


@_builtin("es")
def exact_set(prediction: str, gold: str) -> float:
    """1.0 if the sets of normalised tokens are equal."""
    return float(set(normalize(prediction).split()) == set(normalize(gold).split()))


@_builtin("contains")
def contains(prediction: str, gold: str) -> float:
    """1.0 if the normalised gold occurs in the normalised prediction as whole words."""
    return float(_find_words(normalize(gold), normalize(prediction)))


@_builtin("mc")
def multiple_choice(prediction: str, gold: str) -> float:
    """1.0 if the normalised gold (case kept) occurs in the normalised prediction as whole words."""
    pred = normalize(prediction, lowercase=False, split_hyphens=False)
    true = normalize(gold, lowercase=False, split_hyphens=False)
    # A space and a hyphen match each other inside the gold, but a hyphen ends no word (fix 5).
    inner = "".join("[ -]" if ch in " -" else re.escape(ch) for ch in true)
    return float(re.search(rf"(?<![\w-]){inner}(?![\w-])", pred) is not None)


def _find_words(needle: str, text: str) -> bool:
    """Whether ``needle`` occurs in ``text`` not preceded or followed by a word character."""
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text) is not None


def check_metric(name: str) -> str:
    """Return ``name`` if it is a known metric, else raise ``UnknownNameError`` (did you mean)."""
    METRICS.get(name)
    return name


def score_one(metric: str, prediction: str, gold: str) -> float:
    """Score a prediction against one gold answer."""
    return METRICS.get(metric)(_as_text(prediction, "prediction"), _as_text(gold, "answer"))


def score(metric: str, prediction: str, answers: Sequence[str]) -> float:
    """Score a prediction: the maximum of the metric over the acceptable gold answers.

    Args:
        metric: ``em``, ``f1``, ``es``, ``contains`` or ``mc``.
        prediction: The model's output.
        answers: The acceptable gold strings (non-empty list; a bare string is refused).

    Returns:
        The score in ``[0, 1]``.
    """
    fn = METRICS.get(metric)
    pred = _as_text(prediction, "prediction")
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise ConfigError(
            f"answers must be a list of gold strings, got {type(answers).__name__}; "
            "wrap a single answer as [answer]"
        )
    if not answers:
        raise ConfigError("answers must contain at least one gold string, got an empty list")
    return max(fn(pred, _as_text(a, "answer")) for a in answers)


def _as_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be a string, got {type(value).__name__}: {value!r:.60}")
    return value
