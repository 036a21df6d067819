"""Stage `ingest`: read the data source named by `data.source` (CSV or Parquet) into `data/raw/data.parquet`.

The file is read and written a batch at a time, so memory stays flat however many rows it has.

Reads `data.source`, `data.csv` (delimiter, decimal mark, encoding) and `data.na_values`: in a CSV file, empty cells
and the missing-value markers are read as nulls in every column (`validate` does the same for Parquet text). Only
reading happens here; what the columns mean and whether they are good enough is `validate`'s job.

No pyarrow.compute here: its first call imports pandas (0.2 s), which reading a file does not need.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.io import BATCH_ROWS, parquet_sink
from mlci.core.params import NA_VALUES, CsvParams, load_params
from mlci.stages.helpers.csvfile import stream_csv

READERS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_source(source: str, csv: CsvParams | None = None, na_values: list[str] | None = None):
    """Return the source file as a pyarrow Table, or raise `DataError` saying what is wrong and how to fix it.

    `csv`: how a CSV file is written (default: `CsvParams()`); `na_values`: the missing-value markers besides empty
    cells (default: `NA_VALUES`).
    """
    import pyarrow as pa

    schema, batches = stream_source(source, csv, na_values)
    table = pa.Table.from_batches(list(batches), schema)
    if table.num_rows == 0:
        raise _no_rows(source)
    return table


def stream_source(source: str, csv: CsvParams | None = None, na_values: list[str] | None = None):
    """Return (schema, record batches) of the source file, read a batch at a time; errors as in `read_source`.

    The batches come with plain types (see `_plain_schema`); a reading error in a later batch is a `DataError` too.
    """
    import pyarrow as pa

    path = Path(source)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"data.source {source!r} has an unsupported extension; use a .csv (.tsv, .txt) or .parquet file "
            "(or the demo default data/demo/transactions.parquet)"
        )
    if not path.is_file():
        raise DataError(
            f"data file {source!r} not found; check data.source in params.yaml (paths are relative to the project root)"
        )
    if path.stat().st_size == 0:
        raise DataError(f"data file {source!r} is empty; point data.source at a file with a header and rows")
    options = csv or CsvParams()
    markers = list(NA_VALUES if na_values is None else na_values)

    def unreadable(exc: Exception) -> DataError:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return DataError(
            f"cannot read {source!r} as {kind.upper()} ({reason}); check the file is a valid {kind.upper()} file"
        )

    try:
        schema, batches = stream_csv(path, options, markers) if kind == "csv" else _stream_parquet(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise unreadable(exc) from exc
    binary = [field.name for field in schema if pa.types.is_binary(field.type)]
    if kind == "csv" and binary:
        raise DataError(
            f"cannot read {source!r} as CSV: column {binary[0]!r} is not {options.encoding} text; set data.csv."
            "encoding in params.yaml to the file's encoding (e.g. latin-1 or cp1252), or save the file as UTF-8"
        )
    plain = _plain_schema(schema)

    def plain_batches():
        try:
            for batch in batches:
                batch = batch.replace_schema_metadata(None)
                yield batch if batch.schema.equals(plain) else batch.cast(plain)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
            raise unreadable(exc) from exc

    return plain, plain_batches()


def _no_rows(source: str) -> DataError:
    return DataError(f"data file {source!r} has columns but no rows; add data or point data.source elsewhere")


def _stream_parquet(path: Path):
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path, pre_buffer=False)  # else pyarrow reads the whole file ahead

    def batches():
        with file:
            yield from file.iter_batches(batch_size=BATCH_ROWS)  # a CSV source is read in 16 MiB blocks

    return file.schema_arrow, batches()


def _plain_schema(schema):
    """Dictionary columns decoded and large strings normalised, so later stages see one type per kind of column."""
    import pyarrow as pa

    fields = []
    for field in schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_large_string(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind))
    return pa.schema(fields)


@cli.command("ingest")
def main(argv: Sequence[str] = ()) -> int:
    cli.no_options(argv, "mlci.stages.ingest", __doc__)
    data = load_params().data
    schema, batches = stream_source(data.source, data.csv, data.na_values)
    with parquet_sink(paths.RAW, schema) as sink:
        for batch in batches:
            sink.write(batch)
        if not sink.rows:
            raise _no_rows(data.source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
