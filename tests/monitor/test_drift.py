"""The drift check on demo batches: normal ones pass, holiday ones drift, flipped labels decay, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core import paths
from mlci.core.io import read_parquet
from mlci.core.model import load_model
from mlci.core.schema import Schema
from mlci.monitor import drift
from mlci.monitor.batch import prepare
from mlci.monitor.params import MonitorParams
from mlci.stages.demo import generate

SEEDS = range(100, 120)
SHIFTED = {"amount", "merchant_category", "channel", "card_present"}  # what `season: holiday` changes


def demo_batch(season: str, seed: int, rows: int = 10_000) -> pa.Table:
    return pa.concat_tables(generate(rows, seed, season))


@pytest.fixture(scope="module")
def checker(monitored_dir: Path):
    """`check(table)`: the drift result for a batch table, against the monitored project (loaded once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(monitored_dir)
        schema = Schema.load(paths.SCHEMA)
        model = load_model(paths.MODEL)
        reference = read_parquet(paths.TRAIN_SPLIT, columns=schema.features)
        params = MonitorParams()
        test = drift.score_test(model, drift.read_test(schema), params)

    def check(table: pa.Table) -> dict:
        return drift.compare(reference, prepare(table, schema, "batch"), model, test, schema, params, 0.5)

    return check


def test_compare__batches_from_the_training_distribution_rarely_drift(checker) -> None:
    flagged = [seed for seed in SEEDS if checker(demo_batch("normal", seed))["retrain"]]
    assert len(flagged) <= 1, f"normal batches flagged for seeds {flagged}"  # measured: none of the 20


def test_compare__holiday_batches_always_drift_in_the_shifted_features(checker) -> None:
    for seed in SEEDS:
        result = checker(demo_batch("holiday", seed))
        assert result["retrain"] and "drift" in result["verdict"], seed
        assert "merchant_category" in result["drifted_features"], result["drifted_features"]
        assert set(result["drifted_features"]) <= SHIFTED, result["drifted_features"]
        assert result["score"]["drifted"], "the model's scores shift with the data"
        assert drift.summary(result).startswith("DRIFT: ") and "merchant_category" in drift.summary(result)


def test_compare__flipped_labels_decay(checker) -> None:
    table = demo_batch("normal", 3)
    flip = np.random.default_rng(0).random(table.num_rows) < 0.3
    labels = table.column("is_fraud").to_numpy(zero_copy_only=False)
    table = table.set_column(table.schema.get_field_index("is_fraud"), "is_fraud", pa.array(labels ^ flip))

    result = checker(table)

    assert result["drifted_features"] == [] and not result["score"]["drifted"], "the features did not change"
    assert result["decay"]["decayed"] and result["verdict"] == "decay"
    auc = result["decay"]["metrics"]["roc_auc"]
    assert auc["decayed"] and auc["drop"] > 0.2 and auc["drop_low"] > auc["max_drop"]


def test_compare__one_class_only_skips_decay_with_the_reason(checker) -> None:
    table = demo_batch("normal", 4)
    table = table.filter(pa.compute.invert(table.column("is_fraud")))

    result = checker(table)

    assert result["decay"] == {
        "computed": False,
        "reason": f"the batch's labels hold one class only (0 positive, {table.num_rows} negative rows)",
        "decayed": False,
    }
    assert result["fairness"]["computed"] is False and not result["retrain"]


def test_main__normal_batch_exits_0_and_writes_both_reports(monitored: Path, capsys) -> None:
    pq.write_table(demo_batch("normal", 11, 5000), "batch.parquet")

    assert drift.main(["--batch", "batch.parquet"]) == 0

    result = json.loads((monitored / "reports/drift/drift.json").read_text())
    assert result["verdict"] == "no drift" and result["rows"]["batch"] == 5000
    assert {e["feature"] for e in result["features"]} == set(Schema.load(paths.SCHEMA).features)
    assert all({"psi", "threshold", "drifted"} <= set(e) for e in result["features"])
    assert result["decay"]["computed"] and result["fairness"]["computed"]
    markdown = (monitored / "reports/drift/drift.md").read_text()
    assert "## Drift check: NO DRIFT" in markdown and "| merchant_category |" in markdown
    assert capsys.readouterr().out.startswith("NO DRIFT: 0 of 11 features drifted")


def test_main__holiday_batch_exits_1_and_prints_the_report(monitored: Path, capsys) -> None:
    pq.write_table(demo_batch("holiday", 11, 5000), "batch.parquet")

    assert drift.main(["--batch", "batch.parquet", "--print"]) == 1

    first, blank, *report = capsys.readouterr().out.splitlines()
    assert first.startswith("DRIFT: ") and blank == ""
    assert report[1] == f"## Drift check: {first}"


def test_main__serving_log_without_labels(monitored: Path, capsys) -> None:
    """JSON lines with the input record nested, a probability and a model version: drift only, no decay."""
    records = demo_batch("normal", 12, 2000).drop_columns(["is_fraud"]).to_pylist()
    log = monitored / "logs/predictions.jsonl"
    log.parent.mkdir()
    with log.open("w") as out:
        for record in records:
            record["timestamp"] = record["timestamp"].isoformat()
            out.write(json.dumps({"input": record, "probability": 0.1, "model_version": "v1"}) + "\n")

    assert drift.main(["--serving-log"]) == 0

    result = json.loads((monitored / "reports/drift/drift.json").read_text())
    assert result["decay"] == {"computed": False, "reason": "the batch has no labels", "decayed": False}
    assert result["rows"]["batch"] == 2000


def test_main__no_serving_log_yet(monitored: Path, capsys) -> None:
    assert drift.main(["--serving-log"]) == 0
    assert "no serving log at logs/predictions.jsonl yet" in capsys.readouterr().out
    assert not (monitored / "reports/drift").exists()


def _missing_column(path: Path) -> None:
    pq.write_table(demo_batch("normal", 1, 500).drop_columns(["amount", "channel"]), path)


def _empty(path: Path) -> None:
    pq.write_table(demo_batch("normal", 1, 500).slice(0, 0), path)


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a parquet file at all")


def _unknown_labels(path: Path) -> None:
    table = demo_batch("normal", 1, 500)
    pq.write_table(table.set_column(11, "is_fraud", pa.array(["maybe"] * 500)), path)


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("batch.parquet", _missing_column, "lacks the feature columns amount, channel"),
        ("batch.parquet", _empty, "has no rows"),
        ("batch.parquet", _garbage, "cannot read batch 'batch.parquet' as PARQUET"),
        ("batch.parquet", lambda path: path.write_bytes(b""), "is empty"),
        ("batch.parquet", _unknown_labels, "holds 'maybe', not one of the training labels 'False' and 'True'"),
        ("batch.xlsx", lambda path: path.write_bytes(b"x"), "unsupported extension"),
        ("nowhere.csv", lambda path: None, "not found"),
    ],
    ids=["missing-columns", "no-rows", "unreadable", "empty-file", "unknown-labels", "extension", "missing-file"],
)
def test_main__bad_input_exits_2_and_writes_nothing(monitored: Path, capsys, name: str, write, message: str) -> None:
    write(monitored / name)

    assert drift.main(["--batch", name]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: drift: ") and message in err and err.count("\n") == 1, err
    assert not (monitored / "reports/drift").exists()


def test_main__without_a_trained_model(tmp_dir: Path, write_params, capsys) -> None:
    write_params()
    (tmp_dir / "batch.csv").write_text("a,b\n1,2\n")

    assert drift.main(["--batch", "batch.csv"]) == 2
    assert "run `dvc repro`" in capsys.readouterr().err
