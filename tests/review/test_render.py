"""The PR report's Markdown (`mlci.review.render`), from two real pipeline runs (tests/fixtures/report).

Its tables and charts, the lock's status, and the fit within GitHub's body limit.
"""

from __future__ import annotations

import json
from dataclasses import replace

from mlci.core.markdown import GITHUB_BODY_LIMIT
from mlci.review.data import Change, LockStatus
from mlci.review.render import FIX_COMMAND, MARKER, fit, render
from report_fixtures import BASE_SHA, HEAD_SHA, METRICS_DIFF, fixture_data, mermaid_blocks, table_row


def reversed_diff(diff: dict) -> dict:
    """The comparison the other way round: the head run as base and the base run as head."""
    return {
        file: {key: {"old": v["new"], "new": v["old"]} for key, v in values.items()} for file, values in diff.items()
    }


def test_render__two_runs():
    text = render(fixture_data())

    assert text.splitlines()[0] == MARKER
    assert text.splitlines()[3] == (
        "**Quality gate: failed.** roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01."
    )
    assert table_row(text, "roc_auc ↑") == [
        "roc_auc ↑", "0.8875", "0.8738", "-0.0137", "**regressed**", "≥ 0.8; **worse by ≤ 0.01: failed**",
    ]  # fmt: skip
    assert table_row(text, "average_precision ↑")[3:5] == ["-0.0009", "within noise"]
    assert table_row(text, "f1 ↑")[1:5] == ["0.0000", "0.2436", "+0.2436", "improved"]
    assert table_row(text, "log_loss ↓")[3:5] == ["+0.0142", "**regressed**"], "a higher loss is worse"
    assert table_row(text, "`demo.n_rows`") == ["`demo.n_rows`", "`10000`", "`20000`"]
    assert table_row(text, "rows") == ["rows", "10,000", "20,000", "+10,000"]
    assert table_row(text, "positive rate") == ["positive rate", "2.80%", "2.86%", "+0.06 pp"]
    assert table_row(text, "in_store")[:4] == ["in_store", "2,156 (+1,084)", "1.86% (+0.65 pp)", "**0.8660 (-0.0922)**"]
    assert table_row(text, "online")[3] == "0.8730 (+0.0826)"
    assert table_row(text, "actual False")[1:] == ["1,948 → 3,863", "0 → 13"]
    assert table_row(text, "`amount`") == ["`amount`", "0.2431", "0.1850"]
    assert "The committed `dvc.lock` matches the reproduced pipeline." in text
    assert f"base `{BASE_SHA[:12]}` · head `{HEAD_SHA[:12]}` · pipeline run 12m 34s" in text
    assert "[workflow run](https://github.com/acme/fraud/actions/runs/42)" in text


def test_render__rows_without_a_label():
    """The data table shows how many rows `validate` dropped for want of a label; a base without the count shows –."""
    data = fixture_data()
    head = replace(data.head, profile={**data.head.profile, "unlabeled_rows": 12})

    text = render(replace(data, head=head))

    assert table_row(text, "rows without a label (dropped)") == ["rows without a label (dropped)", "–", "12", ""]
    assert "rows without a label" not in render(data), "profiles without the count show no row"


def test_render__improvement():
    text = render(fixture_data(reversed_diff(METRICS_DIFF)))

    assert "**Quality gate: passed.** floors met (roc_auc, average_precision)" in text
    assert table_row(text, "roc_auc ↑")[1:5] == ["0.8738", "0.8875", "+0.0137", "improved"]
    assert table_row(text, "log_loss ↓")[3:5] == ["-0.0142", "improved"], "a lower loss is better"
    assert table_row(text, "average_precision ↑")[4] == "within noise"


def test_render__new_metric():
    diff = json.loads(json.dumps(METRICS_DIFF))
    diff["reports/eval/metrics.json"]["mcc"] = {"old": None, "new": 0.2871}

    text = render(fixture_data(diff))

    assert table_row(text, "mcc") == ["mcc", "–", "0.2871", "", "new", ""]


def test_render__no_baseline():
    diff = {file: {k: {"old": None, "new": v["new"]} for k, v in vals.items()} for file, vals in METRICS_DIFF.items()}

    text = render(fixture_data(diff, baseline=False))

    assert "**No baseline yet:** the base `11ca687` has no `reports/eval/metrics.json`" in text
    assert "**Quality gate: passed.** floors met (roc_auc, average_precision); no baseline yet" in text
    assert table_row(text, "roc_auc ↑")[1:5] == ["–", "0.8738", "", "new"]
    assert table_row(text, "in_store")[1] == "2,156", "no change to show without a base"
    assert table_row(text, "actual False")[1:] == ["3,863", "13"]
    assert "No param changed." in text
    assert all(block.count("\n    line [") == 1 for block in mermaid_blocks(text)), "only the head's curve"


def test_render__mermaid_charts_have_both_series_on_a_shared_grid():
    data = fixture_data()

    blocks = mermaid_blocks(render(data))

    assert len(blocks) == 2
    roc, pr = blocks
    assert '"plotColorPalette": "#9ca3af, #2563eb"' in roc, "base grey, head blue, in that order"
    assert roc.splitlines()[1:5] == [
        "xychart-beta",
        '    title "ROC curve"',
        '    x-axis "False positive rate (%)" 0 --> 100',
        '    y-axis "True positive rate" 0 --> 1',
    ]
    assert 'title "Precision-recall curve"' in pr
    for block in blocks:
        series = [json.loads(line.split("line ", 1)[1]) for line in block.splitlines() if line.startswith("    line ")]
        assert [len(values) for values in series] == [21, 21]
        assert all(0 <= v <= 1 for values in series for v in values)
    # The stored ROC is sampled every 1 % of FPR, so the 21-point chart holds its values at 0, 5, ..., 100 % exactly.
    head_tpr = [round(p["tpr"], 3) for p in data.head.roc if round(p["fpr"] * 100) % 5 == 0]
    assert json.loads(roc.splitlines()[-1].split("line ", 1)[1]) == head_tpr


def test_render__stale_lock_gives_the_fix():
    stale = LockStatus(stale=["evaluate", "train"], unreproduced=["evaluate"])

    text = render(fixture_data(lock=stale))

    assert (
        "**Stale:** The committed `dvc.lock` differs from the reproduced one in stages `evaluate`, `train`; "
        "`dvc status` reports changes not reproduced yet in stage `evaluate`. Fix it with:"
    ) in text
    assert f"```sh\n{FIX_COMMAND}\n```" in text
    assert "`dvc.lock` is not committed" in render(fixture_data(lock=LockStatus(committed=False)))


def test_fit__short_report_is_unchanged():
    data = fixture_data()

    assert fit(data) == render(data)


def test_fit__huge_report_is_shortened_least_important_first():
    segments = {
        f"merchant-{i:04d}": {
            "rows": Change(900 + i, 1000 + i),
            "positive_rate": Change(0.031, 0.029),
            **{m: Change(0.81, 0.8) for m in ("roc_auc", "average_precision", "f1")},
        }
        for i in range(600)
    }
    params = {f"train.grid.option_{i:03d}": Change(i, i + 1) for i in range(300)}
    data = fixture_data(segments=segments, params=params)
    full = render(data)

    comment = fit(data)

    assert len(full) > GITHUB_BODY_LIMIT, "the test needs a report too long for one comment"
    assert len(comment) < GITHUB_BODY_LIMIT
    assert comment.startswith(MARKER + "\n")
    assert comment.rstrip().endswith(
        "The full report is `full-report.md` in the artifact of "
        "[this workflow run](https://github.com/acme/fraud/actions/runs/42); `make report` renders it locally."
    )
    assert table_row(comment, "roc_auc ↑")[3] == "-0.0137", "the metrics table is kept whole"
    assert all(f"`train.grid.option_{i:03d}`" in comment for i in range(300)), "params outrank segments"
    kept = sum(f"| merchant-{i:04d} |" in comment for i in range(600))
    assert 0 < kept < 600
    assert f"_{600 - kept} more segments in the full report._" in comment
    for title in ("### Curves", "### Top features", "### Confusion matrix"):  # less important than segments
        assert f"{title}\n\n_Left out to fit the comment limit._" in comment
    assert "base `11ca687b2c09` · head" in comment, "the footer stays"


def test_fit__hard_limit_holds_even_for_a_huge_verdict():
    reasons = [f"metric_{i} is missing from reports/eval/metrics.json" for i in range(3000)]
    data = fixture_data()
    data = replace(data, gate=replace(data.gate, passed=False, reasons=reasons))

    comment = fit(data)

    assert len(comment) < GITHUB_BODY_LIMIT
    assert comment.startswith(MARKER)
    assert "full-report.md" in comment
