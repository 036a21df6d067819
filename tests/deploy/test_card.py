"""The model card: every section in order, and data values rendered as themselves.

The card is parsed as CommonMark with tables, as GitHub does.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from mlci.deploy import card
from mlci.model.release_metadata import parse_metadata

NAME = "fraud-model"

HOSTILE = ["a|b", "two\nlines", "``tick``", "<b>x</b>", "@someone", "[link](https://example.com)", "*bold*"]
# What each cell must read once parsed: the value, on one line, an invisible word joiner after `@`.
SHOWN = ["a|b", "two lines", "``tick``", "<b>x</b>", "@\u2060someone", "[link](https://example.com)", "*bold*"]
MARKDOWN = MarkdownIt("commonmark").enable("table")


def card_meta(**changes) -> dict:
    """The keys of the metadata `build.build` gives `card.render`, with small values."""
    meta = {
        "name": NAME,
        "version": "1.1.0",
        "class_labels": {"0": "legit", "1": "fraud"},
        "bump": {"level": "minor", "reasons": ["field 'country' added"]},
        "git_sha": "a" * 40,
        "commit_time": "2026-01-02T03:04:05+00:00",
        "threshold": 0.4,
        "libraries": {"python": "3.11.7", "scikit-learn": "1.5.0"},
        "lineage": {
            "source": {"data/demo/transactions.parquet": "s" * 32},
            "data": {"data/raw/data.parquet": "d" * 32},
            "model": {"models/model.skops": "m" * 32},
        },
        "challenge": {
            "passed": True,
            "verdict": "gate passed: floors met (roc_auc) (against production v1.0.0 on the same 200 rows)",
            "note": None,
            "champion": {"roc_auc": 0.9, "f1": 0.5},
            "champion_version": "1.0.0",
            "challenger": {"roc_auc": 0.91, "f1": 0.52},
        },
        "model": {
            "model": "hist_gradient_boosting",
            "hyperparameters": {"max_iter": 30, "learning_rate": 0.1},
            "seed": 42,
            "class_weight": None,
            "features": {"numeric": ["amount", "age"], "categorical": ["channel"]},
            "target": "is_fraud",
            "train_rows": 1600,
        },
        "metrics": {"roc_auc": 0.91, "average_precision": 0.6, "log_loss": 0.2},
        "segments": {"web": {"rows": 120, "roc_auc": 0.9, "average_precision": 0.5, "f1": 0.4}},
        "segment_column": "channel",
        "data_profile": {
            "rows": 2000,
            "positives": 100,
            "positive_rate": 0.05,
            "duplicate_rate": 0.0,
            "null_rates": {"age": 0.1, "amount": 0.0},
        },
    }
    return meta | changes


SECTIONS = [
    "## Intended use",
    "## Training data",
    "## Training setup",
    "## Metrics (test split)",
    "## Gate against the production model",
    "## Limitations and caveats",
    "## Lineage",
]


def test_card_render__every_section_in_order() -> None:
    text = card.render(
        parse_metadata(card_meta()), "Ranks transactions for review.", ["Synthetic data.", "Not calibrated."]
    )

    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS
    assert text.startswith("# Model card: fraud-model v1.1.0\n")
    assert "> fraud-model v1.1.0: hist_gradient_boosting, ROC AUC 0.91, average precision 0.6; gate passed" in text
    assert "Ranks transactions for review." in text
    assert "- Synthetic data.\n- Not calibrated.\n" in text
    assert "columns with missing values: `age` 0.1" in text
    assert "| log_loss (lower is better) | 0.2 |" in text and "| roc_auc (higher is better) | 0.91 |" in text
    assert "| metric | production v1.0.0 | this version |" in text and "| roc_auc | 0.9 | 0.91 |" in text
    assert "Per segment (`channel`):" in text and "| web | 120 | 0.9 | 0.5 | 0.4 |" in text
    assert "- Version 1.1.0 is a minor release: field 'country' added." in text  # escaped: names a column
    assert f"- commit `{'a' * 40}` (2026-01-02T03:04:05+00:00)" in text
    assert f"- model `models/model.skops`: md5 `{'m' * 32}`" in text


def test_card_render__first_version_without_champion_or_segments() -> None:
    meta = card_meta(
        segments={},
        challenge={
            "passed": True,
            "verdict": "gate passed: floors met (roc_auc); no baseline yet, so no regression check (on 200 test rows)",
            "note": "no production model yet: only the floors apply",
            "champion": None,
            "champion_version": None,
            "challenger": {"roc_auc": 0.91},
        },
        data_profile={},
    )

    text = card.render(parse_metadata(meta), "Ranks transactions.", [])

    assert [line for line in text.splitlines() if line.startswith("## ")] == SECTIONS
    assert "Note: no production model yet: only the floors apply." in text
    assert "| metric | production" not in text and "Per segment" not in text
    assert "columns with missing values: none" in text


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
    text = card.render(parse_metadata(hostile_meta()), "Ranks transactions.", [])

    segments = next(table for table in tables(text) if plain(table[0][0]) == "segment")

    assert [plain(cells[0]) for cells in segments[1:]] == [SHOWN[HOSTILE.index(v)] for v in sorted(HOSTILE)]
    assert [plain(cells[1]) for cells in segments[1:]] == [str(10 + HOSTILE.index(v)) for v in sorted(HOSTILE)]
    assert all(len(cells) == 5 for cells in segments), "a value split or merged cells"


def test_render__names_and_values_from_data_carry_no_markup() -> None:
    text = card.render(parse_metadata(hostile_meta()), "Ranks transactions.", [])

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

    text = card.render(parse_metadata(meta), "Ranks transactions.", [])

    (segments,) = [table for table in tables(text) if plain(table[0][0]) == "segment"]
    assert len(segments) == 2 and plain(segments[1][0]) == SHOWN[HOSTILE.index(value)]
    assert [plain(cell) for cell in segments[1][1:]] == ["7", "0.5", "0.4", "0.3"]
