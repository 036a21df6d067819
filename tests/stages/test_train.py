"""Stage `train`: fit the chosen model family on the training split and write the model and its metadata."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml

from mlci.core import paths
from mlci.core.frames import read_split
from mlci.core.params import TrainParams
from mlci.core.schema import Schema
from mlci.model.pipeline import load_model
from mlci.stages import train as stage


def set_train_params(root, **changes) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["train"] = {**params["train"], **changes}
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")


def test_train(split_project):
    schema = Schema.load()
    X, y, _ = read_split(paths.TRAIN_SPLIT, schema)

    model = stage.train(TrainParams(model="logistic_regression"), schema, X, y)

    assert model.predict_proba(X).shape == (len(y), 2)
    assert list(model.feature_names_in_) == schema.features


def test_metadata(split_project):
    schema = Schema.load()
    X, y, _ = read_split(paths.TRAIN_SPLIT, schema)
    params = TrainParams(model="random_forest", class_weight="balanced")

    meta = stage.metadata(params, schema, y)

    assert meta["model"] == "random_forest"
    assert meta["hyperparameters"] == params.random_forest.model_dump()
    assert meta["class_weight"] == "balanced"
    assert meta["features"] == {"numeric": schema.numeric, "categorical": schema.categorical}
    assert meta["class_labels"] == {"0": "False", "1": "True"}
    assert meta["train_rows"] == len(y) == 1600
    assert meta["train_positive_rate"] == round(float(y.mean()), 4)
    assert set(meta["versions"]) == {"package", "scikit-learn"}


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest", "hist_gradient_boosting"])
def test_main(split_project, family):
    set_train_params(split_project, model=family)

    assert stage.main() == 0
    first = (split_project / paths.MODEL).read_bytes()
    assert stage.main() == 0

    assert (split_project / paths.MODEL).read_bytes() == first, "the same inputs must give the same model bytes"
    model = load_model(paths.MODEL)
    assert (
        type(model.named_steps["model"]).__name__
        == {
            "logistic_regression": "LogisticRegression",
            "random_forest": "RandomForestClassifier",
            "hist_gradient_boosting": "HistGradientBoostingClassifier",
        }[family]
    )
    meta = json.loads((split_project / paths.MODEL_METADATA).read_text(encoding="utf-8"))
    assert meta["model"] == family
    assert meta["seed"] == 42


def test_main__seed_changes_the_model(split_project):
    set_train_params(split_project, model="random_forest", seed=1)
    stage.main()
    first = (split_project / paths.MODEL).read_bytes()
    set_train_params(split_project, seed=2)

    stage.main()

    assert (split_project / paths.MODEL).read_bytes() != first


def test_main__no_training_data(write_params, demo_params, capsys):
    write_params(**demo_params)

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: train: 'data/validated/schema.json' not found; run `dvc repro` so the earlier stages produce it\n"
    )


def test_main__no_split(split_project, capsys):
    (split_project / paths.TRAIN_SPLIT).unlink()

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: train: 'data/split/train.parquet' not found; run `dvc repro` so the earlier stages produce it\n"
    )
    assert not (split_project / paths.MODEL).exists()


def test_main__bad_params_keep_previous_model(split_project, capsys):
    assert stage.main() == 0
    before = (split_project / paths.MODEL).read_bytes()
    set_train_params(split_project, model="xgboost")

    assert stage.main() == 2

    assert "error: train: params.yaml: train.model must be 'logistic_regression'" in capsys.readouterr().err
    assert (split_project / paths.MODEL).read_bytes() == before
    assert np.isfinite(load_model(paths.MODEL).predict_proba(read_split(paths.TRAIN_SPLIT, Schema.load())[0])).all()


def test_train__same_model_on_any_number_of_threads(split_project, tmp_path, monkeypatch):
    """Machines with more cores must train the same bytes, or `dvc.lock` would differ between a laptop and CI."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP library, so the limits below apply to it)
    from threadpoolctl import threadpool_limits

    from mlci.model import pipeline as model_module
    from mlci.model.pipeline import save_model

    monkeypatch.setattr(model_module, "MIN_ROWS_FOR_FIT_THREADS", 0)  # threads even on these 1,600 rows

    schema = Schema.load()
    X, y, _ = read_split(paths.TRAIN_SPLIT, schema)
    for threads in (1, 2, 4):  # conftest sets OMP_NUM_THREADS, so even 4 threads on 2 cores are used as asked
        with threadpool_limits(limits=threads):
            model = stage.train(TrainParams(), schema, X, y)
        assert model[-1]._bin_mapper.n_threads == threads, "train must fit on the OpenMP threads it is given"
        save_model(model, tmp_path / f"{threads}.skops")

    first = (tmp_path / "1.skops").read_bytes()
    assert (tmp_path / "2.skops").read_bytes() == first
    assert (tmp_path / "4.skops").read_bytes() == first


def test_main__openmp_threads_sleep_when_idle(split_project, monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)

    assert stage.main() == 0

    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


@pytest.mark.parametrize(("min_rows", "openmp"), [(None, 1), (0, 2)], ids=["small data", "large data"])
def test_train__threads(split_project, monkeypatch, min_rows, openmp):
    """BLAS on one thread always (a logistic regression's model depends on it); OpenMP threads only on large data."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from mlci.model import pipeline as model_module
    from mlci.model.pipeline import build_pipeline

    if min_rows is not None:
        monkeypatch.setattr(model_module, "MIN_ROWS_FOR_FIT_THREADS", min_rows)
    seen = {}

    def recording(params, schema):
        pipeline = build_pipeline(params, schema)
        fit = pipeline.fit

        def fit_and_record(X, y):
            seen.update({(info["user_api"], info["prefix"]): info["num_threads"] for info in threadpool_info()})
            return fit(X, y)

        pipeline.fit = fit_and_record
        return pipeline

    monkeypatch.setattr(stage, "build_pipeline", recording)
    schema = Schema.load()
    X, y, _ = read_split(paths.TRAIN_SPLIT, schema)
    with threadpool_limits(limits=2):
        stage.train(TrainParams(model="logistic_regression"), schema, X, y)

    assert seen, "no thread pool found"
    assert {threads for (api, _), threads in seen.items() if api == "blas"} <= {1}
    assert {threads for (api, _), threads in seen.items() if api == "openmp"} == {openmp}
