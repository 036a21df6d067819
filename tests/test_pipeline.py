"""End to end: real `dvc repro` and `dvc exp run` on a copy of the project in a temporary git repository.

The copy holds the working tree's tracked and not-ignored files, with the demo cut to 3,000 rows so the whole
pipeline runs in seconds. The stages run the copy's own code (PYTHONPATH) with this virtual environment's Python.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from projectkit import UP_TO_DATE, commit, dvc, edit_params, merge, new_project, run, stage_outcomes, stages_run

pytestmark = pytest.mark.slow

STAGES = ["generate", "ingest", "validate", "split", "train", "evaluate"]
METRICS = Path("reports/eval/metrics.json")
SMALL = {"demo": {"n_rows": 3000}}


def clone(source: Path, root: Path) -> Path:
    """A full copy of a project folder, git history, DVC cache and outputs included."""
    shutil.copytree(source, root, symlinks=True, ignore=shutil.ignore_patterns("tmp"))  # .dvc/tmp: locks, state
    return root


@pytest.fixture(scope="session")
def fresh_runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two independent copies of the project, each reproduced from scratch (concurrently) and committed."""
    roots = [
        new_project(tmp_path_factory.mktemp(name) / "project", params=SMALL, message="initial state")
        for name in ("first", "second")
    ]
    with ThreadPoolExecutor(len(roots)) as pool:
        outputs = list(pool.map(lambda root: dvc(root, "repro").stdout, roots))
    for root, output in zip(roots, outputs, strict=True):
        assert stages_run(output) == STAGES
        commit(root, "reproduce")
    return roots[0], roots[1]


@pytest.fixture
def project(fresh_runs, tmp_path) -> Path:
    """A private copy of a project that has been reproduced: change it freely."""
    return clone(fresh_runs[0], tmp_path / "project")


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_repro__writes_metrics(fresh_runs):
    root = fresh_runs[0]

    metrics = read_json(root / METRICS)
    profile = read_json(root / "reports/data_profile.json")
    shown = json.loads(dvc(root, "metrics", "show", "--json").stdout)

    assert set(metrics) == {"roc_auc", "average_precision", "precision", "recall", "f1", "log_loss", "brier"}
    assert 0.6 < metrics["roc_auc"] <= 1
    assert profile["rows"] == 3000
    assert 0.01 < profile["positive_rate"] < 0.06
    assert shown[""]["data"][str(METRICS)]["data"] == metrics
    for output in ["models/model.skops", "data/split/test.parquet", "reports/eval/plots/sklearn/roc.json"]:
        assert (root / output).is_file(), output


def test_repro__second_run_does_nothing(fresh_runs):
    root = fresh_runs[0]

    output = dvc(root, "repro").stdout

    assert stages_run(output) == []
    assert UP_TO_DATE in output
    assert stage_outcomes(output) == dict.fromkeys(STAGES, "unchanged")
    assert run(root, "git", "status", "--porcelain").stdout == "", "a no-op run must not change any tracked file"


def test_repro__deterministic(fresh_runs):
    first, second = fresh_runs

    assert (first / "dvc.lock").read_bytes() == (second / "dvc.lock").read_bytes()
    for report in ["reports/data_profile.json", METRICS, "reports/eval/segments.json"]:
        assert (first / report).read_bytes() == (second / report).read_bytes(), report


def test_repro__threshold_reruns_only_evaluate(project):
    before = read_json(project / METRICS)
    edit_params(project, {"evaluate": {"threshold": 0.2}})

    output = dvc(project, "repro").stdout

    assert stages_run(output) == ["evaluate"]
    after = read_json(project / METRICS)
    assert after["roc_auc"] == before["roc_auc"]
    assert after["recall"] >= before["recall"]
    assert after != before


def test_exp_run__random_forest(project):
    baseline = read_json(project / METRICS)

    output = dvc(project, "exp", "run", "-S", "train.model=random_forest").stdout

    assert stages_run(output) == ["train", "evaluate"]
    shown = json.loads(dvc(project, "exp", "show", "--json").stdout)
    found = [
        entry["data"]
        for commit in shown
        for experiment in commit.get("experiments") or []
        for entry in experiment["revs"]
        if entry["data"]["params"]["params.yaml"]["data"]["train"]["model"] == "random_forest"
    ]
    assert len(found) == 1, json.dumps(shown)[:3000]
    metrics = found[0]["metrics"][str(METRICS)]["data"]
    assert 0.5 < metrics["roc_auc"] <= 1
    assert metrics != baseline
    head = next(commit for commit in shown if commit["rev"] != "workspace")
    assert head["data"]["metrics"][str(METRICS)]["data"] == baseline


def write_customers(path: Path, rows: int = 600, seed: int = 0, churned: str | None = None) -> None:
    """A CSV of mixed types: ints, floats with blanks, strings, a yes/no target and a date column."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(1, 72, rows)
    calls = rng.poisson(1.5, rows)
    fee = np.round(rng.normal(30, 8, rows) + np.where(plan == "pro", 25, 0), 2)
    logit = -1.0 + 0.5 * calls - 0.04 * tenure + np.where(plan == "basic", 0.8, 0.0) + rng.normal(0, 0.8, rows)
    label = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    days = np.sort(rng.integers(0, 365, rows))
    lines = ["customer_id,signup_date,plan,region,monthly_fee,tenure_months,support_calls,churned"]
    for i in range(rows):
        fee_text = "" if i % 13 == 5 else f"{fee[i]:.2f}"  # blanks: missing values
        date = np.datetime64("2025-01-01") + np.timedelta64(int(days[i]), "D")
        region = ["north", "south", "east", "west"][i % 4]
        target = churned or label[i]
        lines.append(f"{1000 + i},{date},{plan[i]},{region},{fee_text},{tenure[i]},{calls[i]},{target}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


CUSTOMERS = {
    "data": {
        "source": "data/customers.csv",
        "target": "churned",
        "time_column": "signup_date",
        "id_column": "customer_id",
        "segment_column": "plan",
    }
}


def test_repro__bring_your_own_csv(project):
    write_customers(project / "data/customers.csv")
    edit_params(project, CUSTOMERS)

    output = dvc(project, "repro").stdout

    assert stages_run(output) == STAGES[1:], "a new data.source re-runs everything from ingest on"
    profile = read_json(project / "reports/data_profile.json")
    assert profile["rows"] == 600
    assert profile["class_labels"] == {"0": "no", "1": "yes"}
    assert profile["features"] == {
        "numeric": ["monthly_fee", "tenure_months", "support_calls", "signup_date_hour", "signup_date_dayofweek"],
        "categorical": ["plan", "region"],
    }
    assert 0 < profile["null_rates"]["monthly_fee"] < 0.1
    assert 0.5 < read_json(project / METRICS)["roc_auc"] <= 1
    assert set(read_json(project / "reports/eval/segments.json")) <= {"basic", "plus", "pro"}
    assert read_json(project / "models/metadata.json")["train_rows"] == 480

    # Editing the data file alone re-runs the pipeline from ingest on.
    write_customers(project / "data/customers.csv", seed=1)
    output = dvc(project, "repro").stdout

    assert stages_run(output) == STAGES[1:]
    assert stage_outcomes(output)["generate"] == "unchanged"


OWN_DATA = Path(__file__).parent / "fixtures/own_data"  # written by its make_files.py
PENGUINS = {
    "data": {
        "target": "sex",
        "positive_label": "female",
        "time_column": None,
        "id_column": "Sample ID",
        "segment_column": "Site / Île",
    },
    "evaluate": {"min_segment_rows": 10},
}
PENGUIN_FEATURES = {
    "numeric": ["Bill Length (mm)", "Flipper length, mm", "Body Mass (g)"],
    "categorical": ["Site / Île"],
}
SITES = {"Biscoe", "Dream", "Île Torgersen"}


def use_own_data(root: Path, name: str, changes: dict | None = None) -> None:
    """Copy a fixture file into `root`'s data/ and point params.yaml at it, with the penguin roles and `changes`."""
    shutil.copyfile(OWN_DATA / name, root / "data" / name)
    edit_params(root, merge(merge(PENGUINS, {"data": {"source": f"data/{name}"}}), changes or {}))


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
def test_repro__own_data_files(project, name, changes, expected):
    """Each way real exports differ from plain CSV trains by editing params.yaml only."""
    use_own_data(project, name, changes)

    output = dvc(project, "repro").stdout

    assert stages_run(output) == STAGES[1:]
    profile = read_json(project / "reports/data_profile.json")
    for key, value in expected.items():
        found = (
            {k: profile[key][k] for k in value} if isinstance(value, dict) and key != "class_labels" else profile[key]
        )
        assert found == value, f"profile[{key!r}]"
    assert profile["features"] == PENGUIN_FEATURES
    assert profile.get("class_labels") == expected.get("class_labels", {"0": "male", "1": "female"})
    metrics = read_json(project / METRICS)
    assert set(metrics) == {"roc_auc", "average_precision", "precision", "recall", "f1", "log_loss", "brier"}
    assert 0.5 < metrics["roc_auc"] <= 1, "the measurements say something of the sex"
    segments = read_json(project / "reports/eval/segments.json")
    assert segments and set(segments) <= SITES, segments


def test_report__rows_without_a_label(project):
    """The pull-request report's data table says how many rows had no label, against the demo run as base."""
    use_own_data(project, "blank_labels.csv")
    dvc(project, "repro")

    run(project, "python", "-m", "mlci.review.report", "--base", "HEAD", "--no-png", "--out", "report")

    text = (project / "report/report.md").read_text(encoding="utf-8")
    assert "| rows without a label (dropped) | 0 | 3 | +3 |" in text


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
def test_repro__bad_input(project, change, message):
    metrics = (project / METRICS).read_bytes()
    profile = (project / "reports/data_profile.json").read_bytes()
    change(project)

    done = dvc(project, "repro", check=False)

    assert done.returncode != 0
    assert sum(message in line for line in done.stdout.splitlines()) == 1, done.stdout
    assert "Traceback" not in done.stdout
    assert (project / METRICS).read_bytes() == metrics, "a failed run must leave the last good metrics in place"
    assert (project / "reports/data_profile.json").read_bytes() == profile, "and the last good data profile"
