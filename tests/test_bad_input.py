"""End to end: bad input to `dvc repro` is one line naming the problem and the fix, and the last good outputs stay.

Each test works in a copy of the demo project already reproduced (`demo_project`, tests/conftest.py).
"""

from __future__ import annotations

import pytest

from owndatakit import CUSTOMERS, use_own_data, write_customers
from projectkit import METRICS, dvc, edit_params

pytestmark = pytest.mark.slow


def _missing_file(root):
    edit_params(root, {"data": {"source": "data/missing.csv"}})


def _missing_target(root):
    edit_params(root, {"data": {"target": "fraud"}})


def _one_class(root):
    write_customers(root / "data/customers.csv", churned="no")
    edit_params(root, CUSTOMERS)


def _malformed_params(root):
    with (root / "params.yaml").open("a", encoding="utf-8") as params:
        params.write("extra:\n  models: [random_forest\n")


def _bad_threshold(root):
    edit_params(root, {"evaluate": {"threshold": 1.5}})  # only evaluate re-runs: DVC must not delete its last metrics


def _unknown_model(root):
    edit_params(root, {"train": {"model": "xgboost"}})


def _too_many_missing_labels(root):
    use_own_data(root, "blank_labels.csv", {"validate": {"max_missing_target_rate": 0.005}})


def _decimal_commas_unset(root):
    use_own_data(root, "semicolon_decimal_comma.csv")


def _latin1_unset(root):
    use_own_data(root, "latin1.csv")


def _wrong_delimiter(root):
    use_own_data(root, "semicolon_decimal_comma.csv", {"data": {"csv": {"delimiter": ",", "decimal": "."}}})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # DVC checks that a stage's dependencies exist before running it, so this message is DVC's own.
        (_missing_file, "ERROR: failed to reproduce 'ingest': [Errno 2] No such file or directory:"),
        (
            _missing_target,
            "error: validate: column 'fraud' named in data.target is not in the data; the columns are: "
            "transaction_id, timestamp, amount,",
        ),
        (
            _one_class,
            "error: validate: target 'churned' has only one class ('no'); a classifier needs examples of both classes",
        ),
        # DVC reads params.yaml itself (for `${data.source}` in dvc.yaml) before any stage runs: DVC's message.
        (_malformed_params, "ERROR: unable to read: 'params.yaml', YAML file structure is corrupted"),
        (
            _bad_threshold,
            "error: evaluate: params.yaml: evaluate.threshold must be less than 1; got 1.5.",
        ),
        (
            _unknown_model,
            "error: train: params.yaml: train.model must be 'logistic_regression', 'random_forest' or "
            "'hist_gradient_boosting'; got 'xgboost'.",
        ),
        (
            _too_many_missing_labels,
            "error: validate: target 'sex' is empty in 3 of 300 rows (1.0%), above "
            "validate.max_missing_target_rate=0.005; label those rows, remove them, or raise the threshold",
        ),
        (
            _decimal_commas_unset,
            "error: validate: column 'Bill Length (mm)' holds numbers written with a decimal comma (such as '40,8'); "
            "set data.csv.decimal: ',' in params.yaml, or list the column in data.categorical_features to keep it "
            "as text",
        ),
        (
            _latin1_unset,
            "error: ingest: cannot read 'data/latin1.csv' as utf-8 text; set data.csv.encoding to the file's "
            "encoding (e.g. latin-1 or cp1252) in params.yaml, or save the file as UTF-8",
        ),
        (
            _wrong_delimiter,
            "error: ingest: cannot read 'data/semicolon_decimal_comma.csv' as CSV (CSV parse error: Row #2: Expected 2 "
            "columns, got 3: 1000;Île Torgersen;40,8;185;4560,0;male); rows have different numbers of fields with "
            "the delimiter ',' (as set in data.csv.delimiter): set data.csv.delimiter to the character between "
            "fields, and check that text holding it is quoted",
        ),
    ],
    ids=[
        "missing-data-file",
        "missing-target-column",
        "one-class-target",
        "malformed-params",
        "bad-threshold",
        "unknown-model",
        "too-many-missing-labels",
        "decimal-commas-unset",
        "latin-1-unset",
        "wrong-delimiter",
    ],
)
def test_repro__bad_input(demo_project, change, message):
    metrics = (demo_project / METRICS).read_bytes()
    profile = (demo_project / "reports/data_profile.json").read_bytes()
    change(demo_project)

    done = dvc(demo_project, "repro", check=False)

    assert done.returncode != 0
    assert sum(message in line for line in done.stdout.splitlines()) == 1, done.stdout
    assert "Traceback" not in done.stdout
    assert (demo_project / METRICS).read_bytes() == metrics, "a failed run must leave the last good metrics in place"
    assert (demo_project / "reports/data_profile.json").read_bytes() == profile, "and the last good data profile"
