"""The service's predictor gives the pipeline's own `predict_proba`, for every model family, on request columns."""

from __future__ import annotations

import numpy as np
import pytest
from servekit import raw_records, records_json

from mlci.core.frames import read_split
from mlci.core.io import read_parquet
from mlci.core.params import TrainParams
from mlci.core.schema import Schema
from mlci.model.input_schema import input_json_schema
from mlci.serve.contract import Contract
from mlci.serve.predictor import Predictor
from mlci.stages.train import train

FAST = {"random_forest": {"n_estimators": 20}, "hist_gradient_boosting": {"max_iter": 30}}


@pytest.fixture(scope="module")
def split(demo_split_dir):
    schema = Schema.load(demo_split_dir / "data/validated/schema.json")
    X, y, _ = read_split(demo_split_dir / "data/split/train.parquet", schema)
    full = read_parquet(demo_split_dir / "data/split/test.parquet").to_pandas()
    full.loc[full.index[::7], schema.categorical[0]] = "never seen in training"  # unknown categories too
    return schema, X, y, full


@pytest.mark.parametrize("family", ["hist_gradient_boosting", "random_forest", "logistic_regression"])
def test_predictor__equals_the_pipeline(split, family):
    schema, X, y, full = split
    test = full[schema.features]
    model = train(TrainParams.model_validate({"model": family, **FAST}), schema, X, y)
    contract = Contract(input_json_schema(schema, X), max_batch_rows=len(test))
    predictor = Predictor(model, contract.numeric)
    records = raw_records(full, schema)  # the raw record: the service derives the time features
    assert any(value is None for record in records for value in record.values()), "want missing values too"

    served = predictor.positive_probabilities(contract.columns(records))

    assert predictor.direct, f"the {family} pipeline should take the direct path"
    np.testing.assert_allclose(served, model.predict_proba(test)[:, 1], rtol=0, atol=1e-12)
    one = predictor.positive_probabilities(contract.columns(records[:1]))
    np.testing.assert_allclose(one, model.predict_proba(test.iloc[:1])[:, 1], rtol=0, atol=1e-12)


def test_predictor__other_shapes_go_through_the_pipeline(split):
    from sklearn.ensemble import HistGradientBoostingClassifier

    schema, X, y, full = split
    test = full[schema.features]
    model = HistGradientBoostingClassifier(max_iter=5).fit(X[schema.numeric], y)  # no ColumnTransformer
    numeric_only = Schema(target=schema.target, numeric=schema.numeric, categorical=[])
    contract = Contract(input_json_schema(numeric_only, X), max_batch_rows=len(test))
    predictor = Predictor(model, schema.numeric)

    served = predictor.positive_probabilities(contract.columns(records_json(test[schema.numeric])))

    assert not predictor.direct
    np.testing.assert_allclose(served, model.predict_proba(test[schema.numeric])[:, 1], rtol=0, atol=1e-12)
