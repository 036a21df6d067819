"""End to end: `dvc repro` on a user's own data, a CSV as real exports write it, by editing params.yaml only.

Each test works in a copy of the demo project already reproduced (`demo_project`, tests/conftest.py).
"""

from __future__ import annotations

import pytest

from mlci.core.io import read_json
from owndatakit import CUSTOMERS, PENGUIN_FEATURES, SITES, use_own_data, write_customers
from projectkit import METRICS, STAGES, dvc, edit_params, stage_outcomes, stages_run

pytestmark = pytest.mark.slow


def test_repro__bring_your_own_csv(demo_project):
    write_customers(demo_project / "data/customers.csv")
    edit_params(demo_project, CUSTOMERS)

    output = dvc(demo_project, "repro").stdout

    assert stages_run(output) == STAGES[1:], "a new data.source re-runs everything from ingest on"
    profile = read_json(demo_project / "reports/data_profile.json")
    assert profile["rows"] == 600
    assert profile["class_labels"] == {"0": "no", "1": "yes"}
    assert profile["features"] == {
        "numeric": ["monthly_fee", "tenure_months", "support_calls", "signup_date_hour", "signup_date_dayofweek"],
        "categorical": ["plan", "region"],
    }
    assert 0 < profile["null_rates"]["monthly_fee"] < 0.1
    assert 0.5 < read_json(demo_project / METRICS)["roc_auc"] <= 1
    assert set(read_json(demo_project / "reports/eval/segments.json")) <= {"basic", "plus", "pro"}
    assert read_json(demo_project / "models/metadata.json")["train_rows"] == 480

    # Editing the data file alone re-runs the pipeline from ingest on.
    write_customers(demo_project / "data/customers.csv", seed=1)
    output = dvc(demo_project, "repro").stdout

    assert stages_run(output) == STAGES[1:]
    assert stage_outcomes(output)["generate"] == "unchanged"


@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        pytest.param("blank_labels.csv", {}, {"rows": 297, "unlabeled_rows": 3}, id="blank-labels"),
        pytest.param(
            "na_labels.csv",
            {},
            {"rows": 296, "unlabeled_rows": 4, "null_rates": {"Bill Length (mm)": 0.0405}},
            id="r-na-labels",
        ),
        pytest.param(
            "missing_features.csv",
            {"data": {"positive_label": 2}},
            {
                "rows": 300,
                "unlabeled_rows": 0,
                "class_labels": {"0": "1", "1": "2"},
                "null_rates": {"Site / Île": 0.1, "Flipper length, mm": 0.0833},
            },
            id="missing-features-integer-labels",
        ),
        pytest.param(
            "semicolon_decimal_comma.csv",
            {"data": {"csv": {"decimal": ","}}},
            {"rows": 299, "unlabeled_rows": 1},
            id="semicolon-decimal-comma",
        ),
        pytest.param("latin1.csv", {"data": {"csv": {"encoding": "latin-1"}}}, {"rows": 300}, id="latin-1"),
        pytest.param("tab_separated.tsv", {}, {"rows": 300}, id="tab-separated"),
        pytest.param("excel_bom.csv", {}, {"rows": 300}, id="utf-8-bom-crlf"),
    ],
)
def test_repro__own_data_files(demo_project, name, changes, expected):
    """Each way real exports differ from plain CSV trains by editing params.yaml only."""
    use_own_data(demo_project, name, changes)

    output = dvc(demo_project, "repro").stdout

    assert stages_run(output) == STAGES[1:]
    profile = read_json(demo_project / "reports/data_profile.json")
    for key, value in expected.items():
        found = (
            {k: profile[key][k] for k in value} if isinstance(value, dict) and key != "class_labels" else profile[key]
        )
        assert found == value, f"profile[{key!r}]"
    assert profile["features"] == PENGUIN_FEATURES
    assert profile.get("class_labels") == expected.get("class_labels", {"0": "male", "1": "female"})
    metrics = read_json(demo_project / METRICS)
    assert set(metrics) == {"roc_auc", "average_precision", "precision", "recall", "f1", "log_loss", "brier"}
    assert 0.5 < metrics["roc_auc"] <= 1, "the measurements say something of the sex"
    segments = read_json(demo_project / "reports/eval/segments.json")
    assert segments and set(segments) <= SITES, segments
