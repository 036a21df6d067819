"""Reading a batch of new data (CSV, Parquet, or the serving log's JSON lines) into the model's features and labels.

A batch has the training data's columns; the target is optional (a serving log has none). Feature columns that
`validate` derives from the time column (`<time>_hour`, `<time>_dayofweek`) are derived the same way here when the
batch holds the raw time column. A serving log may nest the input record under `input`, `record` or `features`; its
fields are lifted to the top level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.core.errors import DataError
from mlci.core.schema import Schema
from mlci.core.time_parts import as_timestamp, derived_names, time_part

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "json", ".ndjson": "json"}
NESTED = ("input", "record", "features")


@dataclass(frozen=True)
class Batch:
    features: Any  # pyarrow Table: the schema's features, in schema order, with the training types
    labels: Any  # numpy int8 array: 0/1, -1 where the target is empty; None when the batch has no target
    unlabelled_rows: int  # rows whose target is empty (left out of decay and fairness)
    segments: Any  # numpy array of the segment column's values (as text), or None


def read_table(path: Path | str):
    """The file as a pyarrow Table, or `DataError`: unknown extension, missing, empty or unreadable."""
    import pyarrow as pa

    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"batch {str(path)!r} has an unsupported extension; use .csv, .parquet or .jsonl")
    if not path.is_file():
        raise DataError(f"batch {str(path)!r} not found")
    if path.stat().st_size == 0:
        raise DataError(f"batch {str(path)!r} is empty; it needs a header (or records) and rows")
    try:
        if kind == "csv":
            from pyarrow import csv

            table = csv.read_csv(path)
        elif kind == "json":
            from pyarrow import json

            table = _lift_nested(json.read_json(path))
        else:
            from mlci.core.io import read_parquet

            table = read_parquet(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot read batch {str(path)!r} as {kind.upper()} ({reason})") from exc
    if table.num_rows == 0:
        raise DataError(f"batch {str(path)!r} has no rows")
    return table


def _lift_nested(table):
    for name in NESTED:
        if name in table.column_names and hasattr(table.column(name).type, "num_fields"):
            column = table.column(name).combine_chunks()
            for field in column.type:
                if field.name not in table.column_names:
                    table = table.append_column(field.name, column.field(field.name))
    return table


def prepare(table, schema: Schema, where: str) -> Batch:
    """The batch's features with the types the model was trained on, its labels and its segments."""
    import pyarrow as pa

    columns, missing = {}, []
    for name in schema.features:
        if name in table.column_names:
            column = table.column(name)
        elif (source := _derived_from(name, schema, table.column_names)) is not None:
            column = time_part(_timestamp(table.column(source), source, where), derived_names(source)[name])
        else:
            missing.append(name)
            continue
        columns[name] = _cast(column, pa.float64() if name in schema.numeric else pa.string(), name, where)
    if missing:
        raise DataError(
            f"batch {where!r} lacks the feature columns {', '.join(missing)}; a batch needs the training data's columns"
        )
    labels, unlabelled = None, 0
    if schema.target in table.column_names:
        labels, unlabelled = _labels(table.column(schema.target), schema, where)
    segments = None
    if schema.segment_column and schema.segment_column in table.column_names:
        segments = table.column(schema.segment_column).cast(pa.string()).fill_null("(missing)").to_numpy()
    return Batch(pa.table(columns), labels, unlabelled, segments)


def _derived_from(name: str, schema: Schema, present: list[str]) -> str | None:
    """The batch column a derived feature comes from, `data.time_column` first.

    `validate` derives time parts from every timestamp or date column, not only from the time column.
    """
    candidates = [schema.time_column, *present] if schema.time_column in present else present
    return next((source for source in candidates if name in derived_names(source)), None)


def _timestamp(column, name: str, where: str):
    try:
        return as_timestamp(column)
    except ValueError as exc:
        raise DataError(f"batch {where!r}: column {name!r} must hold timestamps; {exc}") from exc


def _cast(column, kind, name: str, where: str):
    import pyarrow as pa

    try:
        return column.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"batch {where!r}: column {name!r} cannot be read as {kind} like the training data ({column.type})"
        ) from exc


def _labels(column, schema: Schema, where: str):
    """0/1 labels, -1 where the target is empty (None if it is empty everywhere), and how many rows are empty."""
    import numpy as np
    import pyarrow as pa

    unlabelled = column.null_count
    if unlabelled == len(column):
        return None, unlabelled
    known = column.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_boolean(column.type) or pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = column.cast(pa.float64()).fill_null(-1.0).to_numpy()
        if set(np.unique(values[known]).tolist()) <= {0.0, 1.0}:
            return values.astype(np.int8), unlabelled
    text = column.cast(pa.string()).fill_null("").to_numpy(zero_copy_only=False).astype(str)
    text = np.char.lower(np.char.strip(text))
    negative, positive = (schema.class_labels[k].strip().lower() for k in ("0", "1"))
    unknown = sorted(set(np.unique(text[known]).tolist()) - {negative, positive})
    if unknown:
        raise DataError(
            f"batch {where!r}: target {schema.target!r} holds {', '.join(map(repr, unknown[:5]))}, not one of the "
            f"training labels {schema.class_labels['0']!r} and {schema.class_labels['1']!r}"
        )
    return np.where(known, (text == positive).astype(np.int8), np.int8(-1)).astype(np.int8), unlabelled
