"""Markdown that data cannot break: the one escape, code span, row and table used by every report, card and body.

Values that come from data (category values, column names, batch file names, param values) reach pull-request
comments, retrain pull-request bodies and model cards. Written raw, a `|` splits a table cell, a newline ends the
table, `<b>` or `[x](url)` becomes markup and `@team` notifies people. `escape` makes any text render as itself in a
table cell; `code` shows it as a code span. Numbers and our own words need neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

GITHUB_BODY_LIMIT = 65_536  # characters in a comment or pull-request body: GitHub rejects longer ones
# The characters that start markup inside a line: code, emphasis, links and images (a `[` opens both), HTML and
# autolinks, strikethrough, entities, table cells and GitHub's math. CommonMark shows a backslash-escaped one as itself.
# Others (`.`, `-`, `#`, `(`, ...) act only at the start of a line or after one of these, and stay readable.
_MARKUP = re.compile(r"""([\\`*_\[\]<>|~&$])""")
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
# GitHub links @name and @org/team in any text node, escaped or not; a word joiner after the @ stops it unseen.
_WORD_JOINER = "\u2060"


def escape(text: object) -> str:
    """`text` as literal text in a Markdown table cell or paragraph: no markup, no mention, one line."""
    flat = _LINE_BREAKS.sub(" ", str(text))
    return _MARKUP.sub(r"\\\1", flat).replace("@", "@" + _WORD_JOINER)


def code(text: object) -> str:
    """`text` as an inline code span that is safe in a table cell, whatever backticks or pipes it holds."""
    flat = _LINE_BREAKS.sub(" ", str(text))
    if not flat:
        return '`""`'
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    # GitHub splits table rows on `|` before it parses code spans, so the pipe needs its backslash even here.
    return f"{fence}{pad}{flat.replace('|', chr(92) + '|')}{pad}{fence}"


def row(cells: Iterable[str]) -> str:
    """One table row from cells that are already Markdown (escape data values first)."""
    return "| " + " | ".join(cells) + " |"


def table(header: Iterable[str], align: str) -> list[str]:
    """A table's header and its alignment line: one letter per column, `l`eft, `r`ight or `c`entre."""
    marks = {"l": "---", "r": "---:", "c": ":-:"}
    return [row(header), "|" + "|".join(marks[a] for a in align) + "|"]
