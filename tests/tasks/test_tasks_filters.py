"""Answer filters on hand-written answers, chains, parsing and errors."""

from __future__ import annotations

import pytest

from droiz.exceptions import ConfigError, UnknownNameError
from droiz.tasks.filters import FILTERS, AnswerFilter, apply_filter, parse_filter, split_spec


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("first-line", "\n  \nHello there\nsecond", "Hello there"),
        ("first-line", "one line", "one line"),
        ("first-line", " \n\t\n", ""),
        ("last-quoted", 'He said "no", then "yes".', "yes"),
        ("last-quoted", "It is “cold” outside.", "cold"),
        ("last-quoted", "no quotes here", "no quotes here"),
        ("last-quoted", 'empty "" span', ""),
        ("after-is", "The larger of the two animals is a donkey.", "a donkey."),
        ("after-is", "This is what it is not", "not"),
        ("after-is", "island", "island"),
        ("strip", "  cold \n", "cold"),
        ("chat-answer", 'The first letter of the word is "A".', "A"),
        ("chat-answer", "The larger of the two animals is a donkey.\nBecause...", "a donkey."),
        ("chat-answer", '\nThe plural is "geese".\nAlso "x".', "geese"),
        ("chat-answer", "cold", "cold"),
        ("chat-answer", 'The answer is "hot" is it', "hot"),
    ],
)
def test_named_filters_on_hand_written_answers(name: str, text: str, expected: str) -> None:
    assert FILTERS.get(name)(text) == expected
    assert apply_filter(name, text) == expected


def test_regex_first_group_or_whole_match_or_unchanged() -> None:
    assert apply_filter(r"regex:letter is (\w)", 'The letter is "B" or letter is C') == "C"
    assert apply_filter(r"regex:letter is \W?(\w)", 'The letter is "B".') == "B"
    assert apply_filter(r"regex:\d+", "I count 42 apples") == "42"
    assert apply_filter(r"regex:\d+", "no digits") == "no digits"


def test_chain_applies_in_order() -> None:
    text = '  The word is "Cat" \nmore'
    assert apply_filter("first-line,last-quoted", text) == "Cat"
    assert apply_filter("first-line,after-is,strip", text) == '"Cat"'
    assert apply_filter(["first-line", "after-is", "strip"], text) == '"Cat"'


def test_regex_pattern_may_hold_commas() -> None:
    assert split_spec(r"first-line,regex:(\d{1,3}),strip") == [
        "first-line",
        r"regex:(\d{1,3})",
        "strip",
    ]
    chain = parse_filter(r"regex:(\d{1,3}),strip")
    assert chain("abc 12345") == "123"
    assert chain.spec == r"regex:(\d{1,3}),strip"


def test_no_filter_is_identity() -> None:
    for spec in (None, "", "  ", []):
        chain = parse_filter(spec)
        assert not chain and chain.spec is None
        assert chain(" raw  answer\n") == " raw  answer\n"
    assert AnswerFilter(("strip",)).spec == "strip"


def test_unknown_name_did_you_mean_and_bad_regex() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'chat-answer'"):
        parse_filter("chat-anwser")
    with pytest.raises(UnknownNameError, match="did you mean 'first-line'"):
        parse_filter("regex:(a),frist-line")
    with pytest.raises(ConfigError, match="not a valid regex"):
        parse_filter("regex:(unclosed")
    with pytest.raises(ConfigError, match="empty entry"):
        parse_filter("strip,,first-line")
