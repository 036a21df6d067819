"""The synthetic card-transaction data (`mlci.stages.helpers.demo`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core.params import DataParams, DemoParams, SplitParams, TrainParams, ValidateParams
from mlci.stages import generate
from mlci.stages.helpers import demo


def table(n_rows: int, seed: int = 42, season: str = "normal") -> pa.Table:
    return pa.concat_tables(demo.generate(n_rows, seed, season))


@pytest.mark.parametrize(
    ("a", "b"),
    [((2000, 1, "normal"), (2000, 2, "normal")), ((2000, 1, "normal"), (2000, 1, "holiday"))],
    ids=["seed", "season"],
)
def test_generate__inputs_change_the_data(a, b):
    assert not table(*a).equals(table(*b))


def test_generate__schema_and_row_count():
    data = table(1234)

    assert data.schema == demo.SCHEMA
    assert data.num_rows == 1234
    assert data.column("transaction_id").to_pylist() == list(range(1234))
    kinds = {name: data.schema.field(name).type for name in data.column_names}
    assert pa.types.is_timestamp(kinds["timestamp"])
    assert pa.types.is_floating(kinds["amount"])
    assert pa.types.is_integer(kinds["txn_count_24h"])
    assert pa.types.is_string(kinds["merchant_category"])
    assert pa.types.is_boolean(kinds["card_present"])
    assert pa.types.is_boolean(kinds["is_fraud"])


def test_generate__chunks(monkeypatch, tmp_path):
    monkeypatch.setattr(demo, "CHUNK_ROWS", 1000)

    chunks = list(demo.generate(2500, seed=5))
    generate.write_demo(DemoParams(n_rows=2500, seed=5), tmp_path / "a.parquet")
    generate.write_demo(DemoParams(n_rows=2500, seed=5), tmp_path / "b.parquet")

    assert [chunk.num_rows for chunk in chunks] == [1000, 1000, 500]
    whole = pa.concat_tables(chunks)
    assert whole.column("transaction_id").to_pylist() == list(range(2500))
    assert pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups == 3  # streamed: one row group per chunk
    assert pq.read_table(tmp_path / "a.parquet").cast(demo.SCHEMA).equals(whole)  # Parquet stores seconds as ms
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    # Each chunk has its own seeded generator, so a chunk does not depend on how many rows follow it.
    assert next(demo.generate(1000, seed=5)).equals(chunks[0])


def test_generate__fraud_rate_and_missing_values():
    data = table(20_000).to_pandas()

    assert 0.02 < data["is_fraud"].mean() < 0.05
    assert 0.01 < data["account_age_days"].isna().mean() < 0.04
    assert 0.03 < data["distance_from_home_km"].isna().mean() < 0.08
    assert data["amount"].gt(0).all()
    # Fraud rows are more extreme, as the documented model says.
    fraud, normal = data[data["is_fraud"]], data[~data["is_fraud"]]
    assert fraud["amount"].median() > 1.5 * normal["amount"].median()
    assert fraud["country_mismatch"].mean() > 2 * normal["country_mismatch"].mean()


def test_generate__holiday_shifts_the_distribution():
    normal, holiday = table(20_000, season="normal").to_pandas(), table(20_000, season="holiday").to_pandas()

    def share(frame, column, values):
        return frame[column].isin(values).mean()

    assert holiday["amount"].median() > 1.2 * normal["amount"].median()
    assert share(holiday, "channel", ["online", "mobile"]) > share(normal, "channel", ["online", "mobile"]) + 0.1
    assert share(holiday, "merchant_category", ["electronics", "jewelry"]) > 1.5 * share(
        normal, "merchant_category", ["electronics", "jewelry"]
    )
    assert holiday["timestamp"].min() >= np.datetime64(demo.HOLIDAY_START)
    assert normal["timestamp"].max() < np.datetime64(demo.HOLIDAY_START)
    assert 0.03 < holiday["is_fraud"].mean() < 0.1


def test_generate__default_model_auc():
    """The demo is learnable but not trivial: the default model scores a ROC AUC near 0.9 on 30k rows."""
    from mlci.evaluation.metrics import scores
    from mlci.stages.split import split_indices
    from mlci.stages.train import train
    from mlci.stages.validate import validate

    data = DataParams(time_column="timestamp", id_column="transaction_id", segment_column="channel")
    validated, schema, _ = validate(table(30_000, seed=11), data, ValidateParams())
    y = validated.column(schema.target).to_numpy()
    train_rows, test_rows = split_indices(y, validated.column("timestamp").cast("int64").to_numpy(), SplitParams())
    frame = validated.to_pandas()[schema.features]

    model = train(TrainParams(), schema, frame.iloc[train_rows], y[train_rows])
    auc = scores(y[test_rows], model.predict_proba(frame.iloc[test_rows])[:, 1], 0.5)["roc_auc"]

    assert 0.85 <= auc <= 0.97
