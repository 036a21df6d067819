"""The model card renders data values as themselves: parsed as CommonMark with tables, as GitHub does."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from test_cli import card_meta

from mlci.deploy import card

HOSTILE = ["a|b", "two\nlines", "``tick``", "<b>x</b>", "@someone", "[link](https://example.com)", "*bold*"]
# What each cell must read once parsed: the value, on one line, an invisible word joiner after `@`.
SHOWN = ["a|b", "two lines", "``tick``", "<b>x</b>", "@\u2060someone", "[link](https://example.com)", "*bold*"]
MARKDOWN = MarkdownIt("commonmark").enable("table")


def tables(text: str) -> list[list[list[Token]]]:
    """Each table of `text` as rows of cells, each cell the inline tokens it parsed to (header row first)."""
    found: list[list[list[Token]]] = []
    for token in MARKDOWN.parse(text):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            found[-1].append([])
        elif token.type == "inline" and found and token.level > 2:
            found[-1][-1].append(token)
    return found


def plain(cell: Token) -> str:
    """A cell's text, asserting that it parsed to text only: no link, emphasis, HTML or code span."""
    kinds = {child.type for child in cell.children or []}
    assert kinds <= {"text", "softbreak"}, f"markup in {cell.content!r}: {kinds}"
    return "".join(child.content for child in cell.children or [])


def hostile_meta() -> dict:
    segments = {value: {"rows": 10 + i, "roc_auc": 0.5, "average_precision": 0.4, "f1": 0.3} for i, value in
                enumerate(HOSTILE)}  # fmt: skip
    meta = card_meta(segments=segments, segment_column="<i>seg</i>|col")
    meta["model"] = meta["model"] | {
        "features": {"numeric": ["amount|x", "`age`"], "categorical": ["<script>c</script>"]},
        "hyperparameters": {"max_iter": "1 | <b>2</b>"},
        "target": "@team",
    }
    meta["data_profile"] = meta["data_profile"] | {"null_rates": {"<b>n</b>": 0.5}}
    meta["lineage"] = meta["lineage"] | {"data": {"data/my|file.csv": "d" * 32}}
    meta["bump"] = {"level": "major", "reasons": ["field '@org/team' removed", "field '<b>x</b>' changed type"]}
    return meta


def test_render__hostile_segment_values_make_one_plain_row_each() -> None:
    text = card.render(hostile_meta(), "Ranks transactions.", [])

    segments = next(table for table in tables(text) if plain(table[0][0]) == "segment")

    assert [plain(cells[0]) for cells in segments[1:]] == [SHOWN[HOSTILE.index(v)] for v in sorted(HOSTILE)]
    assert [plain(cells[1]) for cells in segments[1:]] == [str(10 + HOSTILE.index(v)) for v in sorted(HOSTILE)]
    assert all(len(cells) == 5 for cells in segments), "a value split or merged cells"


def test_render__names_and_values_from_data_carry_no_markup() -> None:
    text = card.render(hostile_meta(), "Ranks transactions.", [])

    html = MARKDOWN.render(text)

    for raw in ("<b>", "<i>", "<script>", 'href="https://example.com"'):
        assert raw not in html, f"{raw!r} reached the rendered card"
    outside_code = re.sub(r"<code>.*?</code>", "", html)  # GitHub links no mention inside a code span
    for mention in ("@team", "@org", "@someone"):
        assert mention not in outside_code, f"{mention!r} would notify"
    assert "<code>amount\\|x</code>" in html and "<code>`age`</code>" in html
    assert "<code>&lt;script&gt;c&lt;/script&gt;</code>" in html
    assert "<code>max_iter=1 \\| &lt;b&gt;2&lt;/b&gt;</code>" in html
    assert "<code>&lt;i&gt;seg&lt;/i&gt;\\|col</code>" in html
    assert "field '@\u2060org/team' removed; field '&lt;b&gt;x&lt;/b&gt;' changed type." in html


@pytest.mark.parametrize("value", HOSTILE)
def test_render__a_hostile_segment_value_keeps_the_table_whole(value: str) -> None:
    meta = card_meta(segments={value: {"rows": 7, "roc_auc": 0.5, "average_precision": 0.4, "f1": 0.3}})

    text = card.render(meta, "Ranks transactions.", [])

    (segments,) = [table for table in tables(text) if plain(table[0][0]) == "segment"]
    assert len(segments) == 2 and plain(segments[1][0]) == SHOWN[HOSTILE.index(value)]
    assert [plain(cell) for cell in segments[1][1:]] == ["7", "0.5", "0.4", "0.3"]
