"""Stage `ingest`: read the data source named by `data.source` (CSV or Parquet) into `data/raw/data.parquet`.

Only reading happens here; what the columns mean and whether they are good enough is `validate`'s job.
"""

from __future__ import annotations

from pathlib import Path

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.io import write_parquet
from mlci.core.params import load_params

OUTPUT = paths.RAW
READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_source(source: str):
    """Return the source file as a pyarrow Table, or raise `DataError` saying what is wrong and how to fix it."""
    import pyarrow as pa

    path = Path(source)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"data.source {source!r} has an unsupported extension; use a .csv or .parquet file "
            "(or the demo default data/demo/transactions.parquet)"
        )
    if not path.is_file():
        raise DataError(
            f"data file {source!r} not found; check data.source in params.yaml (paths are relative to the project root)"
        )
    if path.stat().st_size == 0:
        raise DataError(f"data file {source!r} is empty; point data.source at a file with a header and rows")
    try:
        table = _read_csv(path) if kind == "csv" else _read_parquet(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot read {source!r} as {kind.upper()} ({reason}); check the file is a valid {kind.upper()} file"
        ) from exc
    if table.num_rows == 0:
        raise DataError(f"data file {source!r} has columns but no rows; add data or point data.source elsewhere")
    binary = [field.name for field in table.schema if pa.types.is_binary(field.type)]
    if kind == "csv" and binary:
        raise DataError(
            f"cannot read {source!r} as CSV: column {binary[0]!r} is not UTF-8 text; save the file as UTF-8"
        )
    return _plain_types(table)


def _read_csv(path: Path):
    from pyarrow import csv

    # Read every column whole; pyarrow infers int, float, bool, timestamp or string per column.
    return csv.read_csv(path, read_options=csv.ReadOptions(use_threads=True, block_size=1 << 24))


def _read_parquet(path: Path):
    from mlci.core.io import read_parquet

    return read_parquet(path)


def _plain_types(table):
    """Decode dictionary columns and normalise large strings, so later stages see one type per kind of column."""
    import pyarrow as pa

    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_large_string(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind))
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)


def main() -> int:
    def stage() -> None:
        table = read_source(load_params().data.source)
        write_parquet(OUTPUT, table.replace_schema_metadata(None))

    return cli.run(stage, "ingest")


if __name__ == "__main__":
    raise SystemExit(main())
