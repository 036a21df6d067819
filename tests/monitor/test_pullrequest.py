"""The retrain pull request's title and body."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from mlci.core.io import write_json
from mlci.core.markdown import code, escape
from mlci.monitor import pullrequest
from mlci.monitor.drift import summary
from mlci.monitor.markdown import render
from mlci.monitor.params import MonitorParams
from mlci.monitor.result import Decay, DriftResult, Fairness, FeatureDrift, MetricDecay, Rows, ScoreDrift


def feature(name: str, psi: float, drifted: bool) -> FeatureDrift:
    return FeatureDrift(name, "numeric", 10, None, psi, 100 * psi, 1e-5, 1e-4, drifted, "moderate", 0.1)


def decay(roc_auc: bool, average_precision: bool) -> Decay:
    def metric(decayed: bool) -> MetricDecay:
        return MetricDecay(0.9, 0.8, 0.78, 0.82, 0.1, 0.08, 0.12, 0.05, decayed)

    metrics = {"roc_auc": metric(roc_auc), "average_precision": metric(average_precision)}
    return Decay(rows=5000, positives=150, confidence=0.95, metrics=metrics)


RESULT = DriftResult(
    features=[feature("merchant_category", 0.4, True), feature("amount", 0.2, True), feature("hour", 0.01, False)],
    score=ScoreDrift(
        psi=0.1234, ks=0.05, p_value=0.0001, p_adjusted=0.00042, drifted=True, severity="moderate", threshold=0.1
    ),
    decay=decay(roc_auc=True, average_precision=False),
    fairness=Fairness(reason="no segment column"),
    rows=Rows(batch=5000, scored=5000, reference=16000, unlabelled=0),
    params=MonitorParams(),
)


def test_title__names_the_drifted_features_and_the_decayed_metrics() -> None:
    assert RESULT.verdict == "drift and decay"
    assert pullrequest.title(RESULT) == "Retrain on new data: drift in merchant_category, amount; decay in roc_auc"
    scores_only = replace(
        RESULT, features=[feature("amount", 0.02, False)], decay=Decay(reason="the batch has no labels")
    )
    assert pullrequest.title(scores_only) == (
        "Retrain on new data: drift in the model's scores (PSI 0.12, corrected p 0.00042)"
    )


def test_title__one_line_within_githubs_limit_whatever_the_feature_names() -> None:
    names = ["two\nlines", "tab\there", "x" * 300]
    result = replace(RESULT, features=[feature(name, 0.5, True) for name in names])

    text = pullrequest.title(result)

    assert text.startswith("Retrain on new data: drift in two lines, tab here, xxx")
    assert "\n" not in text and "\t" not in text
    assert len(text) == pullrequest.TITLE_LIMIT and text.endswith("…")


def test_body__drift_report_then_model_report() -> None:
    body = pullrequest.body("## Drift check\n", "<!-- m -->\n## Model\n", "the artifact")
    assert body.index("## Drift check") < body.index("\n---\n") < body.index("## Model")


def test_body__long_reports_are_cut_at_a_line_within_the_limit() -> None:
    drift = "## Drift check\n" + "| feature | 0.1 |\n" * 2000
    report = "<!-- m -->\n" + "| metric | 0.9 |\n" * 5000

    body = pullrequest.body(drift, report, "the artifact", limit=65_536)

    assert len(body) <= 65_536
    assert body.endswith("**Shortened to fit GitHub's limit.** The full reports are in the artifact.\n")
    assert "<!-- m -->" in body and "## Drift check" in body
    assert all(line in ("", "---") or line.startswith(("|", "#", "<", "Opened", "**")) for line in body.splitlines())


def test_main__writes_title_and_body(tmp_dir: Path) -> None:
    write_json("reports/drift/drift.json", RESULT.to_json())
    Path("reports/drift/drift.md").write_text("## Drift check: DRIFT\n")
    Path("report").mkdir()
    Path("report/report.md").write_text("<!-- m -->\nmodel\n")

    assert pullrequest.main(["--out", "pr"]) == 0

    assert Path("pr/title.txt").read_text().startswith("Retrain on new data: drift in merchant_category")
    assert "## Drift check: DRIFT" in Path("pr/body.md").read_text()


def test_main__without_the_reports_exits_2(tmp_dir: Path, capsys) -> None:
    assert pullrequest.main(["--out", "pr"]) == 2
    assert "reports/drift/drift.json not found" in capsys.readouterr().err


NASTY = "a|b\nc `d` <b>bold</b> @someone"


def test_main__data_values_reach_the_body_escaped(tmp_dir: Path) -> None:
    """A feature name and category values with `|`, backticks, a newline, HTML and a mention.

    The body's drift part is the report as rendered, its tables whole.
    """
    nasty = replace(feature(NASTY, 0.5, True), kind="categorical", unseen=[NASTY, "<img src=x>"])
    result = replace(RESULT, features=[nasty, *RESULT.features[1:]])
    write_json("reports/drift/drift.json", result.to_json())
    drift_md = render(result, "in|coming `batch`.parquet", summary(result, code))
    Path("reports/drift/drift.md").write_text(drift_md)
    Path("report").mkdir()
    Path("report/report.md").write_text("<!-- m -->\nmodel\n")

    assert pullrequest.main(["--out", "pr"]) == 0

    body = Path("pr/body.md").read_text()
    assert drift_md.rstrip() + "\n\n---\n\n" in body
    assert f"| {code(NASTY)} (new: {escape(NASTY)}, \\<img src=x\\>) | categorical |" in body
    assert "<b>" not in body.replace(code(NASTY), "") and "@someone" not in body.replace(code(NASTY), "")
    features = [line for line in body.splitlines() if line.startswith("| ")][:4]  # the header and three features
    assert len({len(re.split(r"(?<!\\)\|", line)) for line in features}) == 1, features


def test_main__a_drift_json_that_is_not_the_checks_exits_2(tmp_dir: Path, capsys) -> None:
    write_json("reports/drift/drift.json", {"verdict": "drift"})
    Path("reports/drift/drift.md").write_text("## Drift check: DRIFT\n")
    Path("report").mkdir()
    Path("report/report.md").write_text("<!-- m -->\nmodel\n")

    assert pullrequest.main(["--out", "pr"]) == 2

    assert "reports/drift/drift.json is not a report of the drift check (no 'features')" in capsys.readouterr().err
    assert not Path("pr").exists()


def test_main__a_malformed_drift_json_exits_2(tmp_dir: Path, capsys) -> None:
    Path("reports/drift").mkdir(parents=True)
    Path("reports/drift/drift.json").write_text("{half")
    Path("reports/drift/drift.md").write_text("## Drift check: DRIFT\n")
    Path("report").mkdir()
    Path("report/report.md").write_text("<!-- m -->\nmodel\n")

    assert pullrequest.main(["--out", "pr"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: pullrequest: reports/drift/drift.json is not JSON (Expecting property name"
    )
    assert not Path("pr").exists()
