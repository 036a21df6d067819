"""Champion vs challenger: both models scored on the same test rows, then judged by the gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlci.core.params import GateParams, TrainParams
from mlci.core.schema import Schema
from mlci.deploy.challenge import challenge
from mlci.evaluation.metrics import scores
from mlci.model.input_schema import input_json_schema
from mlci.model.pipeline import build_pipeline, load_model, save_model
from mlci.model.release import Release
from mlci.model.release_metadata import parse_metadata

SCHEMA = Schema(target="y", numeric=["amount", "age"], categorical=["channel"])
FEATURES = SCHEMA.features
GATE = GateParams(floors={"roc_auc": 0.6}, max_regression={"roc_auc": 0.02, "average_precision": 0.02})


def frame(n: int, seed: int) -> pd.DataFrame:
    """`amount` predicts the target; `age` and `channel` are noise."""
    rng = np.random.default_rng(seed)
    amount = rng.normal(50, 20, n)
    return pd.DataFrame(
        {
            "amount": amount,
            "age": rng.normal(40, 10, n),
            "channel": rng.choice(["web", "pos", "app"], n),
            "y": (amount + rng.normal(0, 10, n) > 55).astype(int),
        }
    )


def fit_saved(train: pd.DataFrame, schema: Schema, y: np.ndarray, path: Path):
    """A small logistic regression pipeline, through `save_model` and `load_model` as a release holds it."""
    model = build_pipeline(TrainParams(model="logistic_regression"), schema).fit(train[schema.features], y)
    save_model(model, path)
    return load_model(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("models")
    train = frame(300, seed=1)
    y = train["y"].to_numpy()
    return {
        "good": fit_saved(train, SCHEMA, y, folder / "good.skops"),
        "weak": fit_saved(train, SCHEMA, 1 - y, folder / "weak.skops"),  # learned the opposite
        "train": train,
    }


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    return frame(200, seed=3)


def champion_of(model, train: pd.DataFrame, schema: Schema = SCHEMA, threshold: float = 0.5) -> Release:
    return Release(
        model=model,
        metadata=parse_metadata({"version": "1.0.0", "threshold": threshold, "class_labels": schema.class_labels}),
        input_schema=input_json_schema(schema, train[schema.features]),
        source="dist/fraud-model-v1.0.0",
    )


def test_challenge__without_a_champion_only_the_floors_apply(models: dict, test_rows: pd.DataFrame) -> None:
    result = challenge(models["good"], 0.5, test_rows, test_rows["y"].to_numpy(), GATE, FEATURES, None)

    assert result.passed
    assert result.champion is None and result.champion_version is None
    assert result.note == "no production model yet: only the floors apply"
    assert [c.kind for c in result.gate.checks] == ["floor"]
    assert result.rows == 200
    assert result.verdict == (
        "gate passed: floors met (roc_auc) on 200 test rows; no production model yet: only the floors apply"
    ), result.verdict
    assert result.challenger == scores(
        test_rows["y"].to_numpy(), models["good"].predict_proba(test_rows[FEATURES])[:, 1], 0.5
    )


def test_challenge__without_a_champion_a_floor_still_fails(models: dict, test_rows: pd.DataFrame) -> None:
    result = challenge(models["weak"], 0.5, test_rows, test_rows["y"].to_numpy(), GATE, FEATURES, None)

    assert not result.passed
    assert len(result.gate.reasons) == 1 and "roc_auc" in result.gate.reasons[0]
    assert "is below the floor 0.6" in result.gate.reasons[0]
    assert result.verdict.startswith("gate failed: roc_auc")


def test_challenge__champion_scored_on_the_same_rows_at_its_own_threshold(
    models: dict, test_rows: pd.DataFrame
) -> None:
    # given: the champion is the same good model, released with another threshold
    y = test_rows["y"].to_numpy()
    champion = champion_of(models["good"], models["train"], threshold=0.3)

    # when
    result = challenge(models["good"], 0.5, test_rows, y, GATE, FEATURES, champion)

    # then
    assert result.passed, result.gate.reasons
    assert result.note is None
    assert result.champion_version == "1.0.0"
    assert result.champion == scores(y, models["good"].predict_proba(test_rows[FEATURES])[:, 1], 0.3)
    assert result.champion["roc_auc"] == result.challenger["roc_auc"]
    assert result.champion["f1"] != result.challenger["f1"], "each model is scored at its own threshold"
    assert sorted(c.kind for c in result.gate.checks) == ["floor", "regression", "regression"]
    assert result.verdict.endswith("(against production v1.0.0 on the same 200 rows)"), result.verdict


def test_challenge__a_regression_beyond_the_allowed_fails(models: dict, test_rows: pd.DataFrame) -> None:
    # given: a good champion, a challenger that learned the opposite, and a floor it would still meet
    gate = GateParams(floors={"roc_auc": 0.0}, max_regression={"roc_auc": 0.02})
    champion = champion_of(models["good"], models["train"])

    # when
    result = challenge(models["weak"], 0.5, test_rows, test_rows["y"].to_numpy(), gate, FEATURES, champion)

    # then
    assert not result.passed
    assert result.champion["roc_auc"] - result.challenger["roc_auc"] > 0.02
    [reason] = result.gate.reasons
    assert reason.startswith("roc_auc fell by ") and "gate.max_regression allows 0.02" in reason
    assert result.to_json()["reasons"] == [reason]
    assert result.verdict == f"gate failed: {reason} (against production v1.0.0 on the same 200 rows)"


def test_challenge__a_champion_reading_a_dropped_field_gets_only_the_floors(
    models: dict, test_rows: pd.DataFrame, tmp_path: Path
) -> None:
    # given: the champion was trained with a `merchant` field the test split no longer has
    old_schema = Schema(target="y", numeric=["amount", "age"], categorical=["channel", "merchant"])
    old_train = models["train"].assign(merchant=lambda f: np.where(f["amount"] > 50, "a", "b"))
    old_model = fit_saved(old_train, old_schema, old_train["y"].to_numpy(), tmp_path / "old.skops")
    champion = champion_of(old_model, old_train, schema=old_schema)

    # when
    result = challenge(models["good"], 0.5, test_rows, test_rows["y"].to_numpy(), GATE, FEATURES, champion)

    # then
    assert result.passed
    assert result.champion is None
    assert result.champion_version == "1.0.0"
    assert result.note == (
        "the production model v1.0.0 reads fields the test split no longer has (merchant): only the floors apply"
    )
    assert [c.kind for c in result.gate.checks] == ["floor"]
    assert result.verdict.endswith(f"on 200 test rows; {result.note}")


def test_challenge__to_json_holds_the_whole_result(models: dict, test_rows: pd.DataFrame) -> None:
    champion = champion_of(models["good"], models["train"])

    data = challenge(models["good"], 0.5, test_rows, test_rows["y"].to_numpy(), GATE, FEATURES, champion).to_json()

    assert set(data) == {
        "passed", "verdict", "rows", "challenger", "champion", "champion_version", "note", "reasons", "comparison",
    }  # fmt: skip
    assert data["passed"] is True and data["reasons"] == [] and data["rows"] == 200
    assert data["champion_version"] == "1.0.0" and data["note"] is None
