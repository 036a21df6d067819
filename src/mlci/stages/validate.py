"""Stage `validate`: check the raw data against the declared schema and quality thresholds.

Reads `data/raw/data.parquet` and the `data` and `validate` params. Writes
- `data/validated/data.parquet`: features with settled types, the target as 0/1, and the time and segment columns;
- `data/validated/schema.json`: which column plays which role (read by `split`, `train`, `evaluate`);
- `reports/data_profile.json` (git-tracked): rows, rows dropped for want of a label, positive rate, null rates,
  feature lists.

Missing values are nulls from here on: NaN floats, and in text columns empty strings and the `data.na_values` markers
(`ingest` reads them as nulls from a CSV file already; a Parquet file can hold them as text). Rows without a label
cannot train or test a model: they are dropped first, unless more than `validate.max_missing_target_rate` of them are
missing, which stops here.

Works on Arrow tables with pyarrow.compute (no DataFrames, no scikit-learn), so this stage costs about a second
even at a million rows.
"""

from __future__ import annotations

import re
from typing import Any

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.io import read_parquet, require, write_json, write_parquet
from mlci.core.params import NA_VALUES, DataParams, ValidateParams, load_params
from mlci.core.schema import SCHEMA_FILE, Schema

INPUT = paths.RAW
OUTPUT = paths.VALIDATED
PROFILE = paths.PROFILE
TRUE_WORDS = {"1", "true", "t", "yes", "y"}
FALSE_WORDS = {"0", "false", "f", "no", "n"}
DECIMAL_COMMA = r"^[+-]?\d+,\d+$"  # 12,5: a number in a CSV written with decimal commas, read as text
SNIFF_ROWS = 1000  # the first rows of a text column that say whether it holds such numbers


def validate(table, data: DataParams, checks: ValidateParams) -> tuple[Any, Schema, dict]:
    """Return (validated table, schema, profile) or raise `DataError` naming the first problem and its fix."""
    import pyarrow as pa

    _require_columns(table, data)
    table = _missing_as_null(table, NA_VALUES if data.na_values is None else data.na_values)
    table, unlabeled = _drop_unlabeled(table, data.target, checks.max_missing_target_rate)
    if table.num_rows < checks.min_rows:
        raise DataError(
            f"data has {table.num_rows} rows; at least validate.min_rows={checks.min_rows} are needed "
            "(add rows, or lower validate.min_rows in params.yaml)"
        )
    target, class_labels = _binary_target(table.column(data.target), data)
    numeric, categorical, derived = _feature_roles(table, data)

    columns: dict[str, Any] = {}
    for name in numeric:
        columns[name] = _as_float(table.column(name), name, data)
    for name, (source, part) in derived.items():
        columns[name] = _time_part(_as_timestamp(table.column(source), source, "data.time_column"), part)
    for name in categorical:
        columns[name] = _as_string(table.column(name))
    _check_nulls(columns, checks.max_null_rate)

    if data.time_column is not None and data.time_column not in columns:  # a numeric time column orders as it is
        columns[data.time_column] = _as_timestamp(table.column(data.time_column), data.time_column, "data.time_column")
    if data.segment_column is not None and data.segment_column not in columns:
        columns[data.segment_column] = _as_string(table.column(data.segment_column))
    columns[data.target] = target

    duplicate_rate = _duplicate_rate(table, data)
    if duplicate_rate > checks.max_duplicate_rate:
        what = f"values of {data.id_column!r}" if data.id_column else "rows"
        raise DataError(
            f"{duplicate_rate:.1%} of {what} are duplicates, above validate.max_duplicate_rate="
            f"{checks.max_duplicate_rate}; de-duplicate the data or raise the threshold"
        )

    validated = pa.table(columns)
    schema = Schema(
        target=data.target,
        numeric=[*numeric, *derived],
        categorical=categorical,
        time_column=data.time_column,
        segment_column=data.segment_column,
        class_labels=class_labels,
    )
    return validated, schema, _profile(validated, schema, table.num_columns, duplicate_rate, unlabeled)


def _require_columns(table, data: DataParams) -> None:
    present = set(table.column_names)
    declared = [("data.target", data.target)]
    declared += [(f"data.{role}", getattr(data, role)) for role in ("time_column", "id_column", "segment_column")]
    for key in ("numeric_features", "categorical_features", "drop_columns"):
        declared += [(f"data.{key}", name) for name in getattr(data, key) or []]
    for key, name in declared:
        if name is not None and name not in present:
            listing = ", ".join(table.column_names[:30]) + (", ..." if table.num_columns > 30 else "")
            hint = ""
            if table.num_columns == 1 and any(mark in table.column_names[0] for mark in ",;\t|"):
                hint = " (one column: if the file is a CSV, set data.csv.delimiter to the character between fields)"
            raise DataError(f"column {name!r} named in {key} is not in the data; the columns are: {listing}{hint}")


def _missing_as_null(table, markers):
    """`table` with nulls for NaN floats and, in text columns, for empty strings and the markers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = pa.array(["", *markers], pa.string())
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if pa.types.is_floating(field.type):
            missing = pc.is_nan(column)
        elif pa.types.is_string(field.type):
            missing = pc.is_in(column, value_set=value_set)
        else:
            continue
        if pc.any(missing).as_py():
            table = table.set_column(index, field, pc.if_else(missing, None, column))
    return table


def _drop_unlabeled(table, target: str, max_rate: float):
    """The rows with a label, and how many had none; `DataError` when that share is above `max_rate`."""
    import pyarrow.compute as pc

    missing = table.column(target).null_count
    if not missing:
        return table, 0
    rate = missing / table.num_rows
    if rate > max_rate:
        raise DataError(
            f"target {target!r} is empty in {missing:,} of {table.num_rows:,} rows ({rate:.1%}), above "
            f"validate.max_missing_target_rate={max_rate}; label those rows, remove them, or raise the threshold"
        )
    return table.filter(pc.is_valid(table.column(target))), missing


def _binary_target(column, data: DataParams):
    """Map the target to int8 0/1 and return it with the original label of each class."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name = data.target
    if pa.types.is_floating(column.type):
        whole = pc.all(pc.equal(column, pc.round(column))).as_py()
        column = column.cast(pa.int64()) if whole else column
    values = sorted(column.unique().to_pylist(), key=str)
    shown = ", ".join(repr(v) for v in values[:6]) + (", ..." if len(values) > 6 else "")
    if len(values) == 1:
        raise DataError(f"target {name!r} has only one class ({shown}); a classifier needs examples of both classes")
    if len(values) > 2:
        raise DataError(
            f"target {name!r} has {len(values)} distinct values ({shown}); this pipeline trains binary "
            "classifiers: map the target to two classes"
        )
    text = [str(v).strip().lower() for v in values]
    true_false = set(text) <= TRUE_WORDS | FALSE_WORDS and len({t in TRUE_WORDS for t in text}) == 2
    if data.positive_label is not None:
        wanted = str(data.positive_label).strip().lower()
        if wanted not in text and true_false and wanted in TRUE_WORDS | FALSE_WORDS:
            # YAML reads `positive_label: yes` as true: take the label that means the same (yes, Y, 1, ...).
            wanted = next(t for t in text if (t in TRUE_WORDS) == (wanted in TRUE_WORDS))
        if wanted not in text:
            raise DataError(
                f"data.positive_label {data.positive_label!r} is not a value of target {name!r} (values: {shown}); "
                "set it to one of them"
            )
        positive = text.index(wanted)
    elif true_false:
        positive = next(i for i, t in enumerate(text) if t in TRUE_WORDS)
    else:
        raise DataError(
            f"target {name!r} has labels {shown}, and it is not clear which is the positive class; "
            "set data.positive_label in params.yaml to the label of the class to detect"
        )
    positive_value = pa.scalar(values[positive], type=column.type)
    target = pc.equal(column, positive_value).cast(pa.int8())
    labels = {"0": str(values[1 - positive]), "1": str(values[positive])}
    return target, labels


def _feature_roles(table, data: DataParams) -> tuple[list[str], list[str], dict[str, tuple[str, str]]]:
    """Split the features into numeric and categorical; timestamps become hour-of-day and day-of-week features."""
    import pyarrow as pa

    if data.numeric_features is not None or data.categorical_features is not None:
        candidates = [*(data.numeric_features or []), *(data.categorical_features or [])]
    else:
        reserved = {data.target, data.id_column, *data.drop_columns}
        candidates = [name for name in table.column_names if name not in reserved]
    numeric, categorical, derived = [], [], {}
    for name in candidates:
        kind = table.schema.field(name).type
        declared_categorical = name in (data.categorical_features or [])
        if (
            pa.types.is_timestamp(kind)
            or pa.types.is_date(kind)
            or (name == data.time_column and pa.types.is_string(kind))
        ):
            derived[f"{name}_hour"] = (name, "hour")
            derived[f"{name}_dayofweek"] = (name, "day_of_week")
        elif declared_categorical:
            categorical.append(name)
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            numeric.append(name)
        elif name in (data.numeric_features or []):
            numeric.append(name)  # declared numeric: `_as_float` says so if the values are not numbers
        elif pa.types.is_string(kind):
            _refuse_decimal_commas(table.column(name), name, data)
            categorical.append(name)
        elif pa.types.is_null(kind):
            raise DataError(f"column {name!r} is empty in every row; add it to data.drop_columns")
        else:
            raise DataError(
                f"column {name!r} has type {kind}, which is neither numeric, categorical nor a timestamp; "
                "add it to data.drop_columns"
            )
    if not (numeric or categorical or derived):
        raise DataError("no feature columns are left; list them in data.numeric_features / data.categorical_features")
    return numeric, categorical, derived


def _refuse_decimal_commas(column, name: str, data: DataParams) -> None:
    """Stop a column of numbers with decimal commas from becoming a categorical feature with a category per value."""
    import pyarrow.compute as pc

    sample = column.slice(0, SNIFF_ROWS).drop_null()
    if len(sample) and pc.all(pc.match_substring_regex(sample, DECIMAL_COMMA)).as_py():
        raise DataError(
            f"column {name!r} holds numbers written with a decimal comma (such as {sample[0].as_py()!r}); "
            f"{_decimal_fix(data)}, or list the column in data.categorical_features to keep it as text"
        )


def _decimal_fix(data: DataParams) -> str:
    if data.source.lower().endswith(".csv") and data.csv.decimal == ".":
        return "set data.csv.decimal: ',' in params.yaml"
    return "write them with a decimal point"


def _as_float(column, name: str, data: DataParams):
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type):
        column = pc.if_else(pc.equal(pc.utf8_trim_whitespace(column), ""), None, column)
    try:
        return column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        detail = str(exc).split(":", 1)[-1].strip().removesuffix(" as a scalar of type double")  # the bad value
        fix = "clean the column, or list it in data.categorical_features"
        if re.match(DECIMAL_COMMA, detail.strip("'")):
            fix = f"the numbers have decimal commas: {_decimal_fix(data)}"
        raise DataError(
            f"column {name!r} is used as a numeric feature but holds values that are not numbers (such as {detail}); "
            f"{fix}"
        ) from exc


def _as_string(column):
    import pyarrow as pa

    return column.cast(pa.string())


def _as_timestamp(column, name: str, key: str):
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        return column
    try:
        return column.cast(pa.timestamp("s"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"column {name!r} ({key}) must hold dates or timestamps such as 2026-01-31 or 2026-01-31T14:05:00; "
            f"it has type {column.type}"
        ) from exc


def _time_part(column, part: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    return getattr(pc, part)(column).cast(pa.float64())


def _check_nulls(columns: dict[str, Any], max_rate: float) -> None:
    for name, column in columns.items():
        rate = column.null_count / max(len(column), 1)
        if rate > max_rate:
            raise DataError(
                f"column {name!r} is empty in {rate:.1%} of rows, above validate.max_null_rate={max_rate}; "
                "fill it, add it to data.drop_columns, or raise the threshold"
            )


def _duplicate_rate(table, data: DataParams) -> float:
    if data.id_column is not None:
        distinct = len(table.column(data.id_column).unique())
    else:
        distinct = table.group_by(table.column_names).aggregate([]).num_rows
    return (table.num_rows - distinct) / table.num_rows  # not 1 - distinct / rows: that misses rates at the limit


def _profile(validated, schema: Schema, raw_columns: int, duplicate_rate: float, unlabeled: int) -> dict:
    import pyarrow.compute as pc

    rows = validated.num_rows
    positives = int(pc.sum(validated.column(schema.target)).as_py())
    return {
        "rows": rows,
        "unlabeled_rows": unlabeled,  # dropped before anything else
        "columns": raw_columns,
        "positives": positives,
        "positive_rate": round(positives / rows, 4),
        "duplicate_rate": round(duplicate_rate, 4),
        "class_labels": schema.class_labels,
        "features": {"numeric": schema.numeric, "categorical": schema.categorical},
        "null_rates": {name: round(validated.column(name).null_count / rows, 4) for name in schema.features},
    }


def main() -> int:
    def stage() -> None:
        params = load_params()
        validated, schema, profile = validate(read_parquet(require(INPUT)), params.data, params.validate_)
        write_parquet(OUTPUT, validated)
        schema.save(SCHEMA_FILE)
        write_json(PROFILE, profile)

    return cli.run(stage, "validate")


if __name__ == "__main__":
    raise SystemExit(main())
