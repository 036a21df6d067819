"""The one Markdown helper: data values render as themselves, inside tables, with no markup and no mention."""

from __future__ import annotations

import pytest

from mlci.core.markdown import code, escape, row, table

HOSTILE = [
    "a|b",
    "two\nlines",
    "<img src=x onerror=alert(1)>",
    "`tick`",
    "**bold** _it_ [link](https://example.com)",
    "@octocat and @org/team",
    "back\\slash",
    "crlf\r\nend",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_escape__one_line_no_bare_pipe_or_markup(value):
    text = escape(value)
    assert "\n" not in text and "\r" not in text
    for char in "|<>`*_[]":
        assert char not in text.replace("\\" + char, ""), f"{char!r} left bare in {text!r}"


def test_escape__mentions_are_broken_by_an_invisible_joiner():
    assert escape("@octocat") == "@\u2060octocat"


def test_escape__renders_as_the_original_text():
    # CommonMark shows a backslash-escaped punctuation character as the character alone.
    value = "a|b <c> `d` *e*"
    assert escape(value).replace("\\", "") == value.replace("\\", "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "`plain`"),
        ("a|b", "`a\\|b`"),
        ("has `tick`", "`` has `tick` ``"),
        ("`", "`` ` ``"),
        ("", '`""`'),
        ("x\ny", "`x y`"),
    ],
)
def test_code(value, expected):
    assert code(value) == expected


def test_table_and_row():
    assert table(["a", "b", "c"], "lrc") == ["| a | b | c |", "|---|---:|:-:|"]
    assert row(["1", escape("x|y")]) == "| 1 | x\\|y |"
