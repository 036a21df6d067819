"""The drift report's Markdown: one section per check, and data values that render as themselves."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from mlci.core.markdown import code, escape
from mlci.monitor import drift
from mlci.monitor.markdown import MARKER, render
from mlci.monitor.params import MonitorParams
from mlci.monitor.result import Decay, DriftResult, Fairness, FeatureDrift, MetricDecay, MetricGap, Rows, ScoreDrift

NASTY = "a|b\nc `d` <b>bold</b> @someone"
COLUMN = "chan|nel\n<i>x</i>"
SEGMENTS = {NASTY: 0.41, "in `store`": 0.62, "<img src=x>": 0.7}


def nasty_result() -> DriftResult:
    """Every part judged, with `|`, backticks, newlines, HTML and mentions in every value that comes from data."""
    gap = MetricGap(0.05, 0.29, 0.24, 0.1, 0.38, 0.05, SEGMENTS, dict.fromkeys(SEGMENTS, 0.5), True)
    return DriftResult(
        features=[
            FeatureDrift(
                NASTY, "categorical", 4, [NASTY, "x|y", "<script>"], 0.4, 300.0, 1e-9, 1e-8, True, "major", 0.1
            ),
            FeatureDrift("amount", "numeric", 10, None, 0.01, 8.0, 0.5, 0.6, False, "none", 0.1),
        ],
        score=ScoreDrift(
            psi=0.2, ks=0.1, p_value=1e-6, p_adjusted=2e-6, drifted=True, severity="moderate", threshold=0.1
        ),
        decay=Decay(
            rows=4000,
            positives=120,
            confidence=0.95,
            metrics={"roc_auc": MetricDecay(0.9, 0.85, 0.83, 0.87, 0.05, 0.02, 0.08, 0.05, False)},
        ),
        fairness=Fairness(column=COLUMN, confidence=0.95, metrics={"recall": gap}),
        rows=Rows(batch=4000, scored=4000, reference=16000, unlabelled=0),
        params=MonitorParams(),
    )


def assert_intact(markdown: str) -> None:
    """No markup or mention from data outside code spans, and every table's rows hold the same number of cells."""
    prose = re.sub(r"(?<![\\`])(`+)[^`].*?(?<!`)\1(?!`)", "", markdown)  # in a code span, `<b>` is plain text
    for raw in (r"(?<!\\)</?(b|i|img|script)\b", "@someone", "\nc `d`"):
        assert not re.search(raw, prose), f"{raw!r} reached the Markdown as is:\n{prose}"
    for block in markdown.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        cells = {len(re.split(r"(?<!\\)\|", line)) for line in rows}
        assert len(cells) <= 1, f"a table whose rows differ in cells:\n{block}"


def test_render__one_section_per_check_in_order() -> None:
    result = nasty_result()

    markdown = render(result, "batch.parquet", drift.summary(result, code))

    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert markdown.startswith(MARKER + "\n## Drift check: DRIFT: 1 of 2 features drifted")
    assert headings[1:] == ["### Features", "### Model scores", "### Decay", "### Fairness"]
    assert markdown.endswith("Full results: `reports/drift/drift.json`.\n")
    assert "\n\n\n" not in markdown, "sections are separated by one blank line"


def test_render__data_values_in_every_table_render_as_themselves() -> None:
    result = nasty_result()
    name = "in|coming\n`batch` <b>x</b>.parquet"

    markdown = render(result, name, drift.summary(result, code))

    assert_intact(markdown)
    assert f"## Drift check: DRIFT: 1 of 2 features drifted ({code(NASTY)} PSI 0.400)" in markdown
    assert f"| {code(NASTY)} (new: {escape(NASTY)}, x\\|y, \\<script\\>) | categorical |" in markdown
    assert f"Batch {code(name)}: 4,000 rows" in markdown
    assert f"worst value of {code(COLUMN)} per metric" in markdown
    segments = ", ".join(f"{escape(k)} {v:.3f}" for k, v in sorted(SEGMENTS.items()))
    assert f"| {segments} | **yes** |" in markdown


@pytest.mark.parametrize("part", ["decay", "fairness"])
def test_render__the_reason_a_check_was_not_judged_renders_as_itself(part: str) -> None:
    reason = f"no {COLUMN!r} values <b>here</b> | @someone"
    parts = {"decay": Decay(reason=reason), "fairness": Fairness(reason=reason)}
    result = replace(nasty_result(), **{part: parts[part]})

    markdown = render(result, "batch.parquet", drift.summary(result, code))

    assert_intact(markdown)
    assert f"### {part.title()}\n\nNot judged: {escape(reason)}.\n" in markdown
