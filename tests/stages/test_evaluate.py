"""Stage `evaluate`: metrics, plot data and per-segment scores of the trained model on the test split."""

from __future__ import annotations

import json
import os
import stat

import pyarrow as pa
import pytest
import yaml

from mlci.core import paths
from mlci.core.frames import read_split
from mlci.core.params import EvaluateParams
from mlci.core.schema import Schema
from mlci.model.pipeline import load_model
from mlci.stages import evaluate as stage
from mlci.stages import train

OUTPUTS = [
    "metrics.json",
    "segments.json",
    "plots/sklearn/roc.json",
    "plots/sklearn/precision_recall.json",
    "plots/sklearn/calibration.json",
    "plots/sklearn/confusion_matrix.json",
    "plots/feature_importance.json",
]


@pytest.fixture
def trained_project(split_project):
    assert train.main() == 0
    return split_project


def set_evaluate_params(root, **changes) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["evaluate"] = {**params["evaluate"], **changes}
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")


def inputs():
    schema = Schema.load()
    X, y, frame = read_split(paths.TEST_SPLIT, schema, extra=(schema.segment_column,))
    return load_model(paths.MODEL), X, y, frame[schema.segment_column].to_numpy(), schema


def test_evaluate(trained_project):
    model, X, y, segments, schema = inputs()
    params = EvaluateParams(curve_points=21, calibration_bins=5, importance_repeats=1, min_segment_rows=20)

    outputs = stage.evaluate(model, X, y, segments, params, schema)

    assert sorted(outputs) == sorted(OUTPUTS)
    assert 0.5 < outputs["metrics.json"]["roc_auc"] <= 1
    assert len(outputs["plots/sklearn/roc.json"]["roc"]) == 21
    assert len(outputs["plots/sklearn/precision_recall.json"]["precision_recall"]) == 21
    assert len(outputs["plots/sklearn/calibration.json"]["calibration"]) <= 5
    assert sum(cell["count"] for cell in outputs["plots/sklearn/confusion_matrix.json"]) == len(y) == 400
    assert set(outputs["segments.json"]) <= {"in_store", "online", "mobile"}
    assert "in_store" in outputs["segments.json"]


@pytest.mark.parametrize(
    "column",
    [
        pa.array(["Île", None, "Dream", None]),
        pa.array([2.0, None, 1.0, None]),
    ],
    ids=["text", "numbers"],
)
def test_segment_values__missing(column):
    """Rows without a segment value form one segment named "(missing)", not "nan" or "None"."""
    values = stage.segment_values(pa.table({"s": column}).to_pandas()["s"])

    assert [str(v) for v in values] == [str(column[0].as_py()), "(missing)", str(column[2].as_py()), "(missing)"]


def test_evaluate__without_segments(trained_project):
    model, X, y, _, schema = inputs()

    outputs = stage.evaluate(model, X, y, None, EvaluateParams(importance_repeats=1), schema)

    assert outputs["segments.json"] == {}


def test_importance(trained_project):
    model, X, y, _, _ = inputs()

    found = stage.importance(model, X, y, EvaluateParams(importance_rows=100, importance_repeats=2))

    assert sorted(item["feature"] for item in found) == sorted(X.columns)
    values = [item["importance"] for item in found]
    assert values == sorted(values, reverse=True)
    assert all(set(item) == {"feature", "importance", "std"} for item in found)


def test_importance__same_as_through_the_whole_pipeline(trained_project, monkeypatch):
    """Shuffling the coded columns of rows preprocessed once gives the scores of shuffling the input columns."""
    model, X, y, _, _ = inputs()
    params = EvaluateParams(importance_rows=300, importance_repeats=2)
    shortcut = stage.importance(model, X, y, params)

    monkeypatch.setattr(stage, "columnwise_parts", lambda model, columns: None)

    assert stage.importance(model, X, y, params) == shortcut


def test_importance__one_class_sample(trained_project):
    """A sample too small to hold both classes gives no importances rather than an error."""
    model, X, y, _, _ = inputs()
    negatives = y == 0

    assert stage.importance(model, X[negatives], y[negatives], EvaluateParams(importance_rows=100)) == []


def test_main(trained_project):
    assert stage.main() == 0

    root = trained_project / paths.EVAL
    written = {name: json.loads((root / name).read_text(encoding="utf-8")) for name in OUTPUTS}
    assert set(written["metrics.json"]) == {
        "roc_auc",
        "average_precision",
        "precision",
        "recall",
        "f1",
        "log_loss",
        "brier",
    }
    assert all(len(str(value).split(".")[-1]) <= 4 for value in written["metrics.json"].values())  # rounded
    assert len(written["plots/sklearn/roc.json"]["roc"]) == 101
    # Git-tracked and read by `dvc plots`, the report and CI: readable like any other file.
    assert all(stat.S_IMODE((root / name).stat().st_mode) & 0o044 == 0o044 for name in OUTPUTS)


def test_main__same_bytes_twice(trained_project):
    stage.main()
    first = {name: (trained_project / paths.EVAL / name).read_bytes() for name in OUTPUTS}

    stage.main()

    assert {name: (trained_project / paths.EVAL / name).read_bytes() for name in OUTPUTS} == first


def test_main__same_bytes_on_any_number_of_threads(trained_project):
    """Predictions are computed row by row: the reports must not depend on the machine's core count."""
    from threadpoolctl import threadpool_limits

    outputs = []
    for threads in (1, 2, 4):  # conftest sets OMP_NUM_THREADS, so 4 threads run even on 2 cores
        with threadpool_limits(limits=threads):
            assert stage.main() == 0
        outputs.append({name: (trained_project / paths.EVAL / name).read_bytes() for name in OUTPUTS})

    assert outputs[1] == outputs[0]
    assert outputs[2] == outputs[0]


def test_main__openmp_threads_sleep_when_idle(trained_project, monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)

    assert stage.main() == 0

    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_main__threshold_changes_only_threshold_metrics(trained_project):
    stage.main()
    before = json.loads((trained_project / paths.EVAL / "metrics.json").read_text(encoding="utf-8"))
    set_evaluate_params(trained_project, threshold=0.05)

    stage.main()

    after = json.loads((trained_project / paths.EVAL / "metrics.json").read_text(encoding="utf-8"))
    same = {"roc_auc", "average_precision", "log_loss", "brier"}
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    assert after["recall"] > before["recall"]


def test_main__no_model(split_project, capsys):
    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: evaluate: model file 'models/model.skops' not found; run `dvc repro` to train it\n"
    )
    assert not (split_project / paths.EVAL).exists()


def test_main__untrusted_model(trained_project, capsys):
    (trained_project / paths.MODEL).write_bytes(b"#!/bin/sh\necho pwned\n")

    assert stage.main() == 2

    err = capsys.readouterr().err
    assert err.startswith("error: evaluate: 'models/model.skops' is not a readable skops model")
    assert err.count("\n") == 1
