"""The LightGBM model wrapper: stored by skops without pickle, loaded as a trusted type, the same predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlci.model.lgbm import LightGBMModel
from mlci.model.pipeline import load_model, save_model

lightgbm = pytest.importorskip("lightgbm", reason="the scale extra is not installed: make setup-scale")


@pytest.fixture(scope="module")
def model() -> LightGBMModel:
    rng = np.random.default_rng(0)
    n = 2000
    plan = rng.choice(["basic", "premium", "family"], n)
    amount = rng.normal(size=n)
    y = ((amount > 0.5) | (plan == "premium")).astype(int)
    categories = {"plan": sorted(set(plan))}
    frame = pd.DataFrame({"amount": amount, "plan": pd.Categorical(plan, categories=categories["plan"])})
    fitted = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(frame, y)
    return LightGBMModel(fitted.booster_.model_to_string(), ["amount"], ["plan"], categories)


def test_lightgbm_model__round_trips_through_skops(model, tmp_path):
    X = pd.DataFrame({"amount": [0.0, 1.0, None], "plan": ["premium", "basic", None]})
    save_model(model, tmp_path / "model.skops")
    first = (tmp_path / "model.skops").read_bytes()
    loaded = load_model(tmp_path / "model.skops")
    save_model(loaded, tmp_path / "again.skops")

    assert isinstance(loaded, LightGBMModel)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert (tmp_path / "again.skops").read_bytes() == first  # the same model, the same bytes


def test_lightgbm_model__unknown_category_is_missing(model):
    known = model.predict_proba(pd.DataFrame({"amount": [0.0], "plan": [None]}))
    unknown = model.predict_proba(pd.DataFrame({"amount": [0.0], "plan": ["gold"]}))

    assert np.array_equal(known, unknown)
    assert unknown.shape == (1, 2) and np.allclose(unknown.sum(axis=1), 1)


def test_lightgbm_model__state_is_plain_data(model):
    state = model.__getstate__()

    assert sorted(state) == ["categorical", "categories", "model_text", "numeric"]
    assert all(isinstance(value, (str, list, dict)) for value in state.values())
