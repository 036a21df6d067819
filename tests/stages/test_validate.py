"""Stage `validate`: the target as 0/1, feature roles and types, quality thresholds, and the data profile."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core import paths
from mlci.core.errors import DataError
from mlci.core.params import DataParams, ValidateParams
from mlci.core.schema import Schema
from mlci.stages import validate as stage
from mlci.stages.validate import validate

N = 40
CHECKS = ValidateParams(min_rows=10)


def make_table(n: int = N, **columns) -> pa.Table:
    """A small valid table (no duplicates, a few missing amounts); keyword columns replace or add columns."""
    base = {
        "id": list(range(n)),
        "amount": [None if i % 10 == 3 else float(i) * 1.5 for i in range(n)],
        "plan": ["basic", "premium", "family", None][:4] * (n // 4) + ["basic"] * (n % 4),
        "y": ["yes", "no"] * (n // 2) + ["no"] * (n % 2),
    }
    base.update(columns)
    return pa.table({name: values for name, values in base.items() if values is not None})


def run(table: pa.Table, checks: ValidateParams = CHECKS, **data):
    return validate(table, DataParams(**{"target": "y", "id_column": "id", **data}), checks)


@pytest.mark.parametrize(
    ("labels", "positive_label", "expected"),
    [
        (["yes", "no"], None, {"0": "no", "1": "yes"}),
        (["Y", "N"], None, {"0": "N", "1": "Y"}),
        (["true", "false"], None, {"0": "false", "1": "true"}),
        (["TRUE", "FALSE"], None, {"0": "FALSE", "1": "TRUE"}),
        ([True, False], None, {"0": "False", "1": "True"}),
        ([1, 0], None, {"0": "0", "1": "1"}),
        ([1.0, 0.0], None, {"0": "0", "1": "1"}),
        (["1", "0"], None, {"0": "0", "1": "1"}),
        (["bad", "good"], "bad", {"0": "good", "1": "bad"}),
        (["bad", "good"], "BAD", {"0": "good", "1": "bad"}),
        ([2, 1], 2, {"0": "1", "1": "2"}),
        # YAML reads `positive_label: yes` as true: it still picks the label that says yes.
        (["yes", "no"], True, {"0": "no", "1": "yes"}),
    ],
)
def test_validate__binary_target(labels, positive_label, expected):
    """Each case lists the positive label first, so the 0/1 target alternates 1, 0, 1, 0, ..."""
    validated, schema, _ = run(make_table(y=labels * (N // 2)), positive_label=positive_label)

    assert schema.class_labels == expected
    assert validated.schema.field("y").type == pa.int8()
    assert validated.column("y").to_pylist() == [1, 0] * (N // 2)


@pytest.mark.parametrize(("labels", "positive_label"), [(["yes", "no"], "no"), (["Y", "N"], False), ([1, 0], 0)])
def test_validate__negative_word_as_positive_label(labels, positive_label):
    validated, schema, _ = run(make_table(y=labels * (N // 2)), positive_label=positive_label)

    assert schema.class_labels == {"0": str(labels[0]), "1": str(labels[1])}
    assert validated.column("y").to_pylist() == [0, 1] * (N // 2)


@pytest.mark.parametrize(
    ("table", "data", "message"),
    [
        pytest.param(
            make_table(),
            {"target": "label"},
            "column 'label' named in data.target is not in the data; the columns are: id, amount, plan, y",
            id="missing-target",
        ),
        pytest.param(
            make_table(y=["no"] * N),
            {},
            "target 'y' has only one class ('no'); a classifier needs examples of both",
            id="one-class",
        ),
        pytest.param(
            make_table(y=["a", "b", "c", "d"] * (N // 4)),
            {},
            "target 'y' has 4 distinct values ('a', 'b', 'c', 'd'); this pipeline trains binary classifiers: map the "
            "target to two classes",
            id="four-classes",
        ),
        pytest.param(
            pa.table({"id;amount;y": ["1;2;yes"] * N}),
            {},
            "column 'y' named in data.target is not in the data; the columns are: id;amount;y (one column: if the "
            "file is a CSV, set data.csv.delimiter to the character between fields)",
            id="one-column-with-delimiters",
        ),
        pytest.param(
            make_table(y=["good", "bad"] * (N // 2)),
            {},
            "target 'y' has labels 'bad', 'good', and it is not clear which is the positive class; set "
            "data.positive_label in params.yaml to the label of the class to detect",
            id="needs-positive-label",
        ),
        pytest.param(
            make_table(y=[1, 2] * (N // 2)), {}, "target 'y' has labels 1, 2, and it is not clear", id="numbers-1-2"
        ),
        pytest.param(
            make_table(y=["good", "bad"] * (N // 2)),
            {"positive_label": "fraud"},
            "data.positive_label 'fraud' is not a value of target 'y' (values: 'bad', 'good'); set it to one of them",
            id="positive-label-not-a-value",
        ),
        pytest.param(
            make_table(y=["yes", None] * (N // 2)),
            {},
            "target 'y' is empty in 20 of 40 rows (50.0%), above validate.max_missing_target_rate=0.05; label those "
            "rows, remove them, or raise the threshold",
            id="target-with-nulls",
        ),
        pytest.param(
            make_table(y=[None] * N),
            {},
            "target 'y' is empty in 40 of 40 rows (100.0%), above validate.max_missing_target_rate=0.05",
            id="target-all-null",
        ),
        pytest.param(
            make_table(weight=["1,5", "12,25", None, "-3,0"] * (N // 4)),
            {},
            "column 'weight' holds numbers written with a decimal comma (such as '1,5'); write them with a decimal "
            "point, or list the column in data.categorical_features to keep it as text",
            id="decimal-commas",
        ),
        pytest.param(
            make_table(weight=["1,5", "12,25", None, "-3,0"] * (N // 4)),
            {"source": "data/weights.CSV"},
            "column 'weight' holds numbers written with a decimal comma (such as '1,5'); set data.csv.decimal: ',' "
            "in params.yaml, or list the column in data.categorical_features to keep it as text",
            id="decimal-commas-csv",
        ),
        pytest.param(
            make_table(weight=["1,5", None] * (N // 2)),
            {"source": "data/weights.csv", "numeric_features": ["weight"]},
            "column 'weight' is used as a numeric feature but holds values that are not numbers (such as '1,5'); the "
            "numbers have decimal commas: set data.csv.decimal: ',' in params.yaml",
            id="declared-numeric-decimal-commas",
        ),
        pytest.param(
            make_table(),
            {"time_column": "when"},
            "column 'when' named in data.time_column is not in the data",
            id="missing-time-column",
        ),
        pytest.param(
            make_table(),
            {"id_column": "key"},
            "column 'key' named in data.id_column is not in the data",
            id="missing-id-column",
        ),
        pytest.param(
            make_table(),
            {"segment_column": "region"},
            "column 'region' named in data.segment_column is not in the data",
            id="missing-segment-column",
        ),
        pytest.param(
            make_table(),
            {"numeric_features": ["amount", "age"]},
            "column 'age' named in data.numeric_features is not in the data",
            id="missing-numeric-feature",
        ),
        pytest.param(
            make_table(),
            {"categorical_features": ["region"]},
            "column 'region' named in data.categorical_features",
            id="missing-categorical-feature",
        ),
        pytest.param(
            make_table(),
            {"drop_columns": ["notes"]},
            "column 'notes' named in data.drop_columns is not in the data",
            id="missing-dropped-column",
        ),
        pytest.param(
            make_table(score=["1.5", "2", "unknown", *["3"] * (N - 3)]),
            {"numeric_features": ["score"]},
            "column 'score' is used as a numeric feature but holds values that are not numbers (such as 'unknown'); "
            "clean the column, or list it in data.categorical_features",
            id="numeric-with-text",
        ),
        pytest.param(
            make_table(amount=[None] * 21 + [1.0] * (N - 21)),
            {"id_column": "id"},
            "column 'amount' is empty in 52.5% of rows, above validate.max_null_rate=0.5; fill it, add it to "
            "data.drop_columns, or raise the threshold",
            id="too-many-nulls",
        ),
        pytest.param(
            make_table(blank=pa.nulls(N)),
            {},
            "column 'blank' is empty in every row; add it to data.drop_columns",
            id="all-null-column",
        ),
        pytest.param(
            make_table(tags=[["a"]] * N),
            {},
            "column 'tags' has type list<item: string>, which is neither numeric, categorical nor a timestamp; add it "
            "to data.drop_columns",
            id="unsupported-type",
        ),
        pytest.param(
            make_table(id=[0, 0, 1, 1, 2, 2, *range(3, N - 3)]),
            {"id_column": "id"},
            "7.5% of values of 'id' are duplicates, above validate.max_duplicate_rate=0.05; de-duplicate the data or "
            "raise the threshold",
            id="duplicate-ids",
        ),
        pytest.param(
            pa.concat_tables([make_table()] + [make_table().slice(0, 3)]),
            {"id_column": None},
            "7.0% of rows are duplicates, above validate.max_duplicate_rate=0.05",
            id="duplicate-rows",
        ),
        pytest.param(
            make_table(),
            {"time_column": "plan"},
            "column 'plan' (data.time_column) must hold dates or timestamps "
            "such as 2026-01-31 or 2026-01-31T14:05:00; it has type string",
            id="time-column-not-dates",
        ),
        pytest.param(
            make_table(),
            {"drop_columns": ["id", "amount", "plan"]},
            "no feature columns are left; list them in data.numeric_features / data.categorical_features",
            id="no-features",
        ),
    ],
)
def test_validate__bad(table, data, message):
    with pytest.raises(DataError) as caught:
        run(table, **data)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_validate__too_few_rows():
    with pytest.raises(DataError, match=r"^data has 40 rows; at least validate.min_rows=41 are needed \(add rows, or "):
        run(make_table(), ValidateParams(min_rows=41))


def test_validate__thresholds_are_inclusive():
    table = make_table(amount=[None] * 20 + [1.0] * 20, id=[0, 0, *range(1, N - 1)])

    _, _, profile = run(table, ValidateParams(min_rows=N, max_null_rate=0.5, max_duplicate_rate=0.025), id_column="id")

    assert profile["duplicate_rate"] == 0.025
    assert profile["null_rates"]["amount"] == 0.5


def test_validate__duplicate_rows_without_id():
    """Without an id column, only whole-row copies count as duplicates; with one, repeated ids do."""
    table = make_table(id=[0, 0, *range(1, N - 1)])

    _, _, without_id = run(table, id_column=None)
    assert without_id["duplicate_rate"] == 0.0
    with pytest.raises(DataError, match="of values of 'id' are duplicates"):
        run(table, ValidateParams(min_rows=10, max_duplicate_rate=0.01), id_column="id")


def test_validate__feature_roles():
    table = make_table(
        active=[True, False] * (N // 2),
        count=list(range(N)),
        zip=[str(10000 + i % 3) for i in range(N)],
        notes=["free text"] * N,
    )

    validated, schema, _ = run(table, id_column="id", drop_columns=["notes"])

    assert schema.numeric == ["amount", "active", "count"]
    assert schema.categorical == ["plan", "zip"]
    assert validated.column_names == ["amount", "active", "count", "plan", "zip", "y"]
    assert {str(validated.schema.field(name).type) for name in schema.numeric} == {"double"}
    assert validated.schema.field("zip").type == pa.string()


def test_validate__declared_features():
    table = make_table(code=[i % 3 for i in range(N)], score=[" ", "2.5", *["3"] * (N - 2)])

    validated, schema, _ = run(table, numeric_features=["amount", "score"], categorical_features=["code"])

    assert (schema.numeric, schema.categorical) == (["amount", "score"], ["code"])
    assert validated.column("score").to_pylist()[:3] == [None, 2.5, 3.0]  # blank text is missing
    assert validated.column("code").to_pylist()[:3] == ["0", "1", "2"]


@pytest.mark.parametrize(
    "times",
    [
        [dt.datetime(2026, 1, 1, 8) + dt.timedelta(hours=5 * i) for i in range(N)],
        [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(N)],
        [f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:30:00" for i in range(N)],
    ],
    ids=["timestamp", "date", "iso-text"],
)
def test_validate__time_column(times):
    validated, schema, _ = run(make_table(when=times), time_column="when", segment_column="plan")

    assert schema.time_column == "when"
    assert schema.numeric == ["amount", "when_hour", "when_dayofweek"]
    assert "when" not in schema.features
    assert pa.types.is_timestamp(validated.schema.field("when").type)
    hours = validated.column("when_hour").to_pylist()
    days = validated.column("when_dayofweek").to_pylist()
    expected = [pa.scalar(t).cast(pa.timestamp("s")).as_py() for t in pa.array(times).cast(pa.timestamp("s"))]
    assert hours == [float(t.hour) for t in expected]
    assert days == [float(t.weekday()) for t in expected]


def test_validate__timestamp_features_without_time_column():
    table = make_table(opened=[dt.datetime(2026, 3, 2, i % 24) for i in range(N)])

    validated, schema, _ = run(table)

    assert schema.numeric == ["amount", "opened_hour", "opened_dayofweek"]
    assert "opened" not in validated.column_names
    assert validated.column("opened_dayofweek").to_pylist() == [0.0] * N  # 2 March 2026 is a Monday


def test_validate__numeric_time_column():
    """A numeric time column (a period number) orders the split as it is and stays a feature."""
    validated, schema, _ = run(make_table(period=[i / 2 for i in range(N)]), time_column="period")

    assert schema.numeric == ["amount", "period"]
    assert validated.column("period").type == pa.float64()


def test_validate__segment_column_kept():
    table = make_table(region=["north", "south"] * (N // 2))

    validated, schema, _ = run(table, segment_column="region", numeric_features=["amount"])

    assert schema.segment_column == "region"
    assert schema.features == ["amount"]
    assert validated.column("region").to_pylist()[:2] == ["north", "south"]


def test_validate__profile():
    validated, schema, profile = run(make_table(), id_column="id")

    assert profile == {
        "rows": N,
        "unlabeled_rows": 0,
        "columns": 4,
        "positives": N // 2,
        "positive_rate": 0.5,
        "duplicate_rate": 0.0,
        "class_labels": {"0": "no", "1": "yes"},
        "features": {"numeric": ["amount"], "categorical": ["plan"]},
        "null_rates": {"amount": 0.1, "plan": 0.25},
    }


def test_validate__missing_markers():
    """Text from Parquet can hold the markers: they, empty strings and NaN are missing, in features and target."""
    table = make_table(
        plan=["basic", "", "NA", None, "#N/A"] * (N // 5),
        amount=[1.5, float("nan"), 2.0, None, 3.0] * (N // 5),
        y=["yes", "no", "no", "yes", "no"] * (N // 5 - 1) + ["yes", "no", "no", "yes", "null"],
    )

    validated, schema, profile = run(table, ValidateParams(min_rows=10, max_null_rate=0.9))

    assert validated.column("plan").to_pylist()[:5] == ["basic", None, None, None, None]
    assert validated.column("amount").to_pylist()[:5] == [1.5, None, 2.0, None, 3.0]
    assert profile["null_rates"] == {"amount": round(16 / 39, 4), "plan": round(31 / 39, 4)}  # 39 labelled rows
    assert profile["unlabeled_rows"] == 1
    assert schema.class_labels == {"0": "no", "1": "yes"}


def test_validate__own_na_values():
    """`data.na_values` replaces the markers; empty strings stay missing."""
    validated, _, _ = run(make_table(plan=["?", "NA", "", "basic"] * (N // 4)), na_values=["?"])

    assert validated.column("plan").to_pylist()[:4] == [None, "NA", None, "basic"]


def test_validate__drops_unlabeled_rows():
    """Rows without a label are dropped before anything else: the profile counts them, the checks see the rest."""
    labels = ["yes", "no"] * (N // 2)
    labels[5] = labels[8] = None
    table = make_table(y=labels, id=[0, 0, *range(1, N - 1)])  # rows 0 and 1 share an id

    validated, _, profile = run(table, ValidateParams(min_rows=10, max_missing_target_rate=0.05))

    assert validated.num_rows == N - 2
    assert profile["rows"] == N - 2
    assert profile["unlabeled_rows"] == 2
    assert profile["positives"] == N // 2 - 1  # row 8 was a "yes"
    assert profile["duplicate_rate"] == round(1 / (N - 2), 4)


def test_validate__unlabeled_rows_count_before_min_rows():
    labels = ["yes", "no"] * (N // 2)
    labels[:2] = [None, None]

    with pytest.raises(DataError, match=r"^data has 38 rows; at least validate.min_rows=39 are needed"):
        run(make_table(y=labels), ValidateParams(min_rows=39))


def test_validate__declared_categorical_keeps_decimal_comma_text():
    table = make_table(version=["1,5", "2,0"] * (N // 2))

    _, schema, _ = run(table, categorical_features=["plan", "version"], numeric_features=["amount"])

    assert schema.categorical == ["plan", "version"]


def test_main(write_params, tmp_dir):
    (tmp_dir / "data/raw").mkdir(parents=True)
    pq.write_table(make_table(), tmp_dir / paths.RAW)
    write_params(data={"target": "y", "id_column": "id"}, validate={"min_rows": 10})

    assert stage.main() == 0

    assert Schema.load(tmp_dir / "data/validated/schema.json") == Schema(
        target="y", numeric=["amount"], categorical=["plan"], class_labels={"0": "no", "1": "yes"}
    )
    assert pq.read_table(tmp_dir / paths.VALIDATED).column_names == ["amount", "plan", "y"]
    assert (tmp_dir / paths.PROFILE).read_text(encoding="utf-8").startswith('{\n  "class_labels"')


def test_main__bad_data(write_params, tmp_dir, capsys):
    (tmp_dir / "data/raw").mkdir(parents=True)
    pq.write_table(make_table(y=["yes"] * N), tmp_dir / paths.RAW)
    write_params(data={"target": "y"}, validate={"min_rows": 10})

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: validate: target 'y' has only one class ('yes'); a classifier needs examples of both classes\n"
    )
    assert not (tmp_dir / paths.VALIDATED).exists()


def test_main__no_input(write_params, capsys):
    write_params()

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: validate: 'data/raw/data.parquet' not found; run `dvc repro` so the earlier stages produce it\n"
    )


@pytest.mark.parametrize("spill_keys", [10**9, 1000], ids=["in-memory", "spilled-to-disk"])
def test_distinct_counter(tmp_path, monkeypatch, spill_keys):
    import numpy as np

    monkeypatch.setattr(stage, "SPILL_KEYS", spill_keys)
    keys = np.random.default_rng(0).integers(0, 2**64 - 1, 5000, dtype=np.uint64)
    keys = np.concatenate([keys, keys[:700]])  # 700 duplicates

    with stage.DistinctCounter(str(tmp_path)) as counter:
        for part in np.array_split(keys, 13):
            counter.add(part)
        assert counter.count() == 5000

    assert list(tmp_path.iterdir()) == []  # the temp files are gone


def test_validate__in_batches(monkeypatch):
    """Many batches give what one batch gives: the checks are running counts."""
    table = make_table(n=400)
    whole = run(table)
    monkeypatch.setattr(stage, "BATCH_ROWS", 37)

    validated, schema, profile = run(table)

    assert (validated.to_pydict(), schema, profile) == (whole[0].to_pydict(), whole[1], whole[2])
