"""The retrain pull request's title and body."""

from __future__ import annotations

from pathlib import Path

from mlci.core.io import write_json
from mlci.monitor import pullrequest

RESULT = {
    "verdict": "drift and decay",
    "drifted_features": ["merchant_category", "amount"],
    "score": {"psi": 0.1234, "p_adjusted": 0.00042, "drifted": True},
    "decay": {"decayed": True, "metrics": {"roc_auc": {"decayed": True}, "average_precision": {"decayed": False}}},
}


def test_title__names_the_drifted_features_and_the_decayed_metrics() -> None:
    assert pullrequest.title(RESULT) == "Retrain on new data: drift in merchant_category, amount; decay in roc_auc"
    scores_only = {**RESULT, "drifted_features": [], "decay": {"computed": False, "decayed": False}}
    assert pullrequest.title(scores_only) == (
        "Retrain on new data: drift in the model's scores (PSI 0.12, corrected p 0.00042)"
    )


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
    write_json("reports/drift/drift.json", RESULT)
    Path("reports/drift/drift.md").write_text("## Drift check: DRIFT\n")
    Path("report").mkdir()
    Path("report/report.md").write_text("<!-- m -->\nmodel\n")

    assert pullrequest.main(["--out", "pr"]) == 0

    assert Path("pr/title.txt").read_text().startswith("Retrain on new data: drift in merchant_category")
    assert "## Drift check: DRIFT" in Path("pr/body.md").read_text()


def test_main__without_the_reports_exits_2(tmp_dir: Path, capsys) -> None:
    assert pullrequest.main(["--out", "pr"]) == 2
    assert "reports/drift/drift.json not found" in capsys.readouterr().err


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
