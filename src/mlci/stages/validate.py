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

Works on Arrow batches with pyarrow.compute (no scikit-learn), a batch at a time with running counts, so memory does
not grow with the row count; the duplicate check hashes ids to 64 bits and counts them partitioned on disk.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.io import BATCH_ROWS, iter_parquet, parquet_sink, require, write_json
from mlci.core.params import NA_VALUES, DataParams, ValidateParams, load_params
from mlci.core.schema import Schema
from mlci.core.time_parts import as_timestamp, derived_names, time_part

TRUE_WORDS = {"1", "true", "t", "yes", "y"}
FALSE_WORDS = {"0", "false", "f", "no", "n"}
DECIMAL_COMMA = r"^[+-]?\d+,\d+$"  # 12,5: a number in a CSV written with decimal commas, read as text
SNIFF_ROWS = 1000  # the first rows of a text column that say whether it holds such numbers
MAX_LABELS = 1000  # distinct target values kept for the error message (a binary target has two)
SPILL_KEYS = 1 << 20  # duplicate check: hashes kept in memory (8 MiB) before they go to temp files ...
PARTITION_BITS = 8  # ... split into 2^8 files by their top bits
PARTITIONS = 1 << PARTITION_BITS
# The features by role: numeric, categorical, and those derived from the time column (name: (source, part)).
Roles = tuple[list[str], list[str], dict[str, tuple[str, str]]]


def validate(table, data: DataParams, checks: ValidateParams) -> tuple[Any, Schema, dict]:
    """Return (validated table, schema, profile) or raise `DataError` naming the first problem and its fix.

    The same steps as the stage, which streams them (`validate_stream`), on a table in memory.
    """
    import pyarrow as pa

    parts: list[Any] = []

    def scan(columns=None):
        return (table if columns is None else table.select(columns)).to_batches(max_chunksize=BATCH_ROWS)

    schema, profile = validate_stream(scan, table.schema, data, checks, parts.append)
    return pa.concat_tables(parts), schema, profile


def validate_stream(
    scan, raw_schema, data: DataParams, checks: ValidateParams, write, spill_dir: str | None = None
) -> tuple[Schema, dict]:
    """Validate data read a batch at a time; `write` gets the validated rows as tables, in order.

    Returns (schema, profile). `scan(columns=None)` yields the raw data's record batches (only `columns`, if given);
    it is called twice: the labels first, then everything. Every check is a running count, and the duplicate check
    counts distinct 64-bit hashes of the ids (or rows) in bounded memory (`DistinctCounter`, temp files in
    `spill_dir`, default the system's), so memory does not grow with the row count. Raises `DataError` naming the
    first problem and its fix; what `write` got is then not a valid output.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    _require_columns(raw_schema, data)
    markers = NA_VALUES if data.na_values is None else data.na_values
    rows, unlabeled, labels, capped = _scan_target(scan, data.target, markers)
    _check_unlabeled(data.target, rows, unlabeled, checks.max_missing_target_rate)
    labeled = rows - unlabeled
    if labeled < checks.min_rows:
        raise DataError(
            f"data has {labeled} rows; at least validate.min_rows={checks.min_rows} are needed "
            "(add rows, or lower validate.min_rows in params.yaml)"
        )
    to_target, class_labels = _binary_target(labels, capped, raw_schema.field(data.target).type, data)

    roles: Roles | None = None
    nulls: dict[str, int] = {}
    positives = 0
    with DistinctCounter(spill_dir) as distinct:
        for batch in scan():
            table = _missing_as_null(pa.Table.from_batches([batch]), markers)
            if unlabeled:
                table = table.filter(pc.is_valid(table.column(data.target)))
            if roles is None:
                roles = _feature_roles(table, data)
            features = _feature_columns(table, roles, data)
            for name, column in features.items():
                nulls[name] = nulls.get(name, 0) + column.null_count
            columns = features | _role_columns(table, features, data, to_target)
            positives += int(pc.sum(columns[data.target]).as_py() or 0)
            distinct.add(_row_keys(table, data))
            write(pa.table(columns))
        _check_nulls(nulls, labeled, checks.max_null_rate)
        duplicate_rate = (labeled - distinct.count()) / labeled  # not 1 - distinct / rows: that misses the limit
    _check_duplicates(duplicate_rate, data, checks.max_duplicate_rate)
    assert roles is not None  # at least validate.min_rows labelled rows were read
    numeric, categorical, derived = roles
    schema = Schema(
        target=data.target,
        numeric=[*numeric, *derived],
        categorical=categorical,
        time_column=data.time_column,
        segment_column=data.segment_column,
        class_labels=class_labels,
    )
    profile = {
        "rows": labeled,
        "unlabeled_rows": unlabeled,  # dropped before anything else
        "columns": len(raw_schema),
        "positives": positives,
        "positive_rate": round(positives / labeled, 4),
        "duplicate_rate": round(duplicate_rate, 4),
        "class_labels": schema.class_labels,
        "features": {"numeric": schema.numeric, "categorical": schema.categorical},
        "null_rates": {name: round(nulls[name] / labeled, 4) for name in schema.features},
    }
    return schema, profile


def _feature_columns(table, roles: Roles, data: DataParams) -> dict[str, Any]:
    """A batch's features in their settled types: numbers as float64, the time column's parts, categories as text."""
    numeric, categorical, derived = roles
    columns: dict[str, Any] = {}
    for name in numeric:
        columns[name] = _as_float(table.column(name), name, data)
    for name, (source, part) in derived.items():
        columns[name] = time_part(_as_timestamp(table.column(source), source, "data.time_column"), part)
    for name in categorical:
        columns[name] = _as_string(table.column(name))
    return columns


def _role_columns(table, features: dict[str, Any], data: DataParams, to_target) -> dict[str, Any]:
    """The time and segment columns the features do not already hold, then the target as 0/1."""
    columns: dict[str, Any] = {}
    if data.time_column is not None and data.time_column not in features:  # a numeric one orders as it is
        columns[data.time_column] = _as_timestamp(table.column(data.time_column), data.time_column, "data.time_column")
    if data.segment_column is not None and data.segment_column not in features:
        columns[data.segment_column] = _as_string(table.column(data.segment_column))
    columns[data.target] = to_target(table.column(data.target))
    return columns


def _check_duplicates(duplicate_rate: float, data: DataParams, max_rate: float) -> None:
    if duplicate_rate > max_rate:
        what = f"values of {data.id_column!r}" if data.id_column else "rows"
        raise DataError(
            f"{duplicate_rate:.1%} of {what} are duplicates, above validate.max_duplicate_rate={max_rate}; "
            "de-duplicate the data or raise the threshold"
        )


def _scan_target(scan, target: str, markers) -> tuple[int, int, list, bool]:
    """(rows, rows without a label, the distinct labels, whether there were more than `MAX_LABELS` of them)."""
    import pyarrow as pa

    rows = unlabeled = 0
    labels: set = set()
    for batch in scan([target]):
        column = _missing_as_null(pa.Table.from_batches([batch]), markers).column(0)
        rows += len(column)
        unlabeled += column.null_count
        if len(labels) <= MAX_LABELS:
            labels.update(column.drop_null().unique().to_pylist())
    return rows, unlabeled, list(labels), len(labels) > MAX_LABELS


class DistinctCounter:
    """Counts distinct 64-bit keys in bounded memory.

    Keys stay in memory up to `SPILL_KEYS`; past that they go to `PARTITIONS` temp files by their top bits, and each
    file is counted on its own (`_distinct`), so memory is about 8 bytes x rows / PARTITIONS at the end. Exact, given
    the keys: two different ids share a 64-bit hash with probability about rows^2 / 2^65 (7e-5 at 50M rows).
    """

    def __init__(self, directory: str | None = None) -> None:
        self._directory = directory
        self._pending: list[Any] = []
        self._pending_keys = 0
        self._temp: Any = None
        self._files: list[Any] = []

    def __enter__(self) -> DistinctCounter:
        return self

    def __exit__(self, *exc_info) -> None:
        for file in self._files:
            file.close()
        if self._temp is not None:
            self._temp.cleanup()

    def add(self, keys) -> None:
        self._pending.append(keys)
        self._pending_keys += len(keys)
        if self._pending_keys >= SPILL_KEYS:
            self._spill()

    def _spill(self) -> None:
        import tempfile
        from pathlib import Path

        import numpy as np

        if self._temp is None:
            self._temp = tempfile.TemporaryDirectory(prefix="mlci-distinct-", dir=self._directory)
            self._files = [(Path(self._temp.name) / f"{i:03d}.u64").open("wb") for i in range(PARTITIONS)]
        keys = np.concatenate(self._pending) if self._pending else np.empty(0, np.uint64)
        self._pending, self._pending_keys = [], 0
        part = (keys >> np.uint64(64 - PARTITION_BITS)).astype(np.intp)
        order = np.argsort(part, kind="stable")
        keys = keys[order]
        bounds = np.searchsorted(part[order], np.arange(PARTITIONS + 1))
        for i, file in enumerate(self._files):
            keys[bounds[i] : bounds[i + 1]].tofile(file)

    def count(self) -> int:
        import numpy as np

        if self._temp is None:
            return _distinct(np.concatenate(self._pending)) if self._pending else 0
        self._spill()
        total = 0
        for file in self._files:
            file.close()
            total += _distinct(np.fromfile(file.name, np.uint64))
        return total


def _distinct(keys) -> int:
    """The number of distinct values in `keys`: sorted, then the changes counted.

    `np.unique` gives the same count, but hashes integers first: 0.3 s against 0.01 s (CPU) for a million keys.
    """
    import numpy as np

    if not len(keys):
        return 0
    keys = np.sort(keys)
    return int(np.count_nonzero(keys[1:] != keys[:-1])) + 1


def _row_keys(table, data: DataParams):
    """A 64-bit hash per row of its id (`data.id_column`), or of the whole row without one (pandas' SipHash)."""
    import pandas as pd

    columns = [data.id_column] if data.id_column is not None else table.column_names
    return pd.util.hash_pandas_object(table.select(columns).to_pandas(), index=False).to_numpy()


def _require_columns(schema, data: DataParams) -> None:
    names = schema.names
    present = set(names)
    declared = [("data.target", data.target)]
    declared += [(f"data.{role}", getattr(data, role)) for role in ("time_column", "id_column", "segment_column")]
    for key in ("numeric_features", "categorical_features", "drop_columns"):
        declared += [(f"data.{key}", name) for name in getattr(data, key) or []]
    for key, name in declared:
        if name is not None and name not in present:
            listing = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
            hint = ""
            if len(names) == 1 and any(mark in names[0] for mark in ",;\t|"):
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


def _check_unlabeled(target: str, rows: int, missing: int, max_rate: float) -> None:
    """`DataError` when the share of rows without a label is above `max_rate` (the others are dropped)."""
    if missing and missing / rows > max_rate:
        raise DataError(
            f"target {target!r} is empty in {missing:,} of {rows:,} rows ({missing / rows:.1%}), above "
            f"validate.max_missing_target_rate={max_rate}; label those rows, remove them, or raise the threshold"
        )


def _binary_target(labels: list, capped: bool, kind, data: DataParams):
    """From the distinct labels: a function mapping a label column to int8 0/1, and the original label of each class."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name = data.target
    whole = pa.types.is_floating(kind) and all(float(v).is_integer() for v in labels)
    if whole:
        kind, labels = pa.int64(), [int(v) for v in labels]
    values = sorted(labels, key=str)
    shown = ", ".join(repr(v) for v in values[:6]) + (", ..." if len(values) > 6 else "")
    if len(values) == 1:
        raise DataError(f"target {name!r} has only one class ({shown}); a classifier needs examples of both classes")
    if len(values) > 2:
        raise DataError(
            f"target {name!r} has {'over ' if capped else ''}{len(values)} distinct values ({shown}); this pipeline "
            "trains binary classifiers: map the target to two classes"
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
    positive_value = pa.scalar(values[positive], type=kind)

    def to_target(column):
        return pc.equal(column.cast(kind) if whole else column, positive_value).cast(pa.int8())

    return to_target, {"0": str(values[1 - positive]), "1": str(values[positive])}


def _feature_roles(table, data: DataParams) -> Roles:
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
            derived.update({feature: (name, part) for feature, part in derived_names(name).items()})
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
    try:
        return as_timestamp(column)
    except ValueError as exc:
        raise DataError(
            f"column {name!r} ({key}) must hold dates or timestamps such as 2026-01-31 or 2026-01-31T14:05:00; {exc}"
        ) from exc


def _check_nulls(nulls: dict[str, int], rows: int, max_rate: float) -> None:
    for name, count in nulls.items():
        rate = count / max(rows, 1)
        if rate > max_rate:
            raise DataError(
                f"column {name!r} is empty in {rate:.1%} of rows, above validate.max_null_rate={max_rate}; "
                "fill it, add it to data.drop_columns, or raise the threshold"
            )


@cli.command("validate")
def main(argv: Sequence[str] = ()) -> int:
    cli.no_options(argv, "mlci.stages.validate", __doc__)

    import pyarrow.parquet as pq

    params = load_params()
    raw_schema = pq.read_schema(require(paths.RAW))
    with ExitStack() as outputs:
        sink = None  # opened on the first table, which carries the validated schema

        def write(table) -> None:
            nonlocal sink
            if sink is None:
                sink = outputs.enter_context(parquet_sink(paths.VALIDATED, table.schema))
            sink.write(table)

        def scan(columns=None):
            return iter_parquet(paths.RAW, columns, BATCH_ROWS)

        paths.VALIDATED.parent.mkdir(parents=True, exist_ok=True)
        schema, profile = validate_stream(
            scan, raw_schema, params.data, params.validate_, write, spill_dir=str(paths.VALIDATED.parent)
        )
    schema.save(paths.SCHEMA)
    write_json(paths.PROFILE, profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
