"""End to end: real `dvc repro` and `dvc exp run` on a copy of the project in a temporary git repository.

The copy holds the working tree's tracked and not-ignored files, with the demo cut to 3,000 rows so the whole
pipeline runs in seconds. The stages run the copy's own code (PYTHONPATH) with this virtual environment's Python.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci.core.io import read_json
from projectkit import (
    METRICS,
    STAGES,
    UP_TO_DATE,
    dvc,
    edit_params,
    reproduce_from_scratch,
    run,
    stage_outcomes,
    stages_run,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def second_run(tmp_path_factory) -> Path:
    """Another copy reproduced from scratch, on its own: what `reproduced_demo` must equal byte for byte."""
    return reproduce_from_scratch(tmp_path_factory.mktemp("second") / "project")


def test_repro__writes_metrics(reproduced_demo):
    root = reproduced_demo

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


def test_repro__second_run_does_nothing(reproduced_demo):
    root = reproduced_demo

    output = dvc(root, "repro").stdout

    assert stages_run(output) == []
    assert UP_TO_DATE in output
    assert stage_outcomes(output) == dict.fromkeys(STAGES, "unchanged")
    assert run(root, "git", "status", "--porcelain").stdout == "", "a no-op run must not change any tracked file"


def test_repro__deterministic(reproduced_demo, second_run):
    first, second = reproduced_demo, second_run

    assert (first / "dvc.lock").read_bytes() == (second / "dvc.lock").read_bytes()
    for report in ["reports/data_profile.json", METRICS, "reports/eval/segments.json"]:
        assert (first / report).read_bytes() == (second / report).read_bytes(), report


def test_repro__threshold_reruns_only_evaluate(demo_project):
    before = read_json(demo_project / METRICS)
    edit_params(demo_project, {"evaluate": {"threshold": 0.2}})

    output = dvc(demo_project, "repro").stdout

    assert stages_run(output) == ["evaluate"]
    after = read_json(demo_project / METRICS)
    assert after["roc_auc"] == before["roc_auc"]
    assert after["recall"] >= before["recall"]
    assert after != before


def test_exp_run__random_forest(demo_project):
    baseline = read_json(demo_project / METRICS)

    output = dvc(demo_project, "exp", "run", "-S", "train.model=random_forest").stdout

    assert stages_run(output) == ["train", "evaluate"]
    shown = json.loads(dvc(demo_project, "exp", "show", "--json").stdout)
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
