"""Read a CSV file, a block at a time: its delimiter, decimal mark, encoding and missing-value markers.

Everything is pyarrow's streaming reader; only the delimiter is guessed in Python, from the first few lines.
"""

from __future__ import annotations

import codecs
import csv as pycsv
import io
import re
from itertools import islice
from pathlib import Path

from mlci.core.errors import DataError
from mlci.core.params import CsvParams

DELIMITERS = (",", ";", "\t", "|")  # tried in this order; the first that splits the sample evenly wins a tie
NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
SAMPLE_BYTES = 1 << 16
SAMPLE_LINES = 50
FIELD_COUNT = re.compile(r"Expected \d+ columns, got \d+")


def read_csv(path: Path, options: CsvParams, na_values: list[str]):
    """Return the file as a Table; raise `DataError` naming the likely cause and the setting that fixes it."""
    import pyarrow as pa

    schema, batches = stream_csv(path, options, na_values)
    return pa.Table.from_batches(list(batches), schema)


def stream_csv(path: Path, options: CsvParams, na_values: list[str]):
    """Return (schema, record batches): the file read a block at a time, so memory does not grow with its size.

    Column types are inferred from the first block (16 MiB), as pyarrow's whole-file reader does too. Errors while
    reading, at the start or in a later block, are raised as `DataError` naming the likely cause and the fix.
    """
    import pyarrow as pa
    from pyarrow import csv

    encoding = _arrow_encoding(options.encoding)
    delimiter = options.delimiter or detect_delimiter(path, options.encoding)
    if options.decimal == delimiter:
        raise DataError(
            f"data.csv.decimal is {options.decimal!r} and {path.name!r} separates fields by {NAMES[delimiter]} too; "
            "set data.csv.delimiter to the character between fields (';' is usual with decimal commas)"
        )
    read = csv.ReadOptions(use_threads=True, block_size=1 << 24, encoding=encoding)
    parse = csv.ParseOptions(delimiter=delimiter)
    convert = csv.ConvertOptions(
        null_values=["", *na_values],  # an empty cell is missing whatever the list says
        strings_can_be_null=True,  # by default only numbers can be missing: "NA" in a text column stays "NA"
        quoted_strings_can_be_null=True,  # "NA" and NA alike, as in pandas
        decimal_point=options.decimal,
    )

    def problem(exc: Exception) -> DataError:
        if isinstance(exc, UnicodeDecodeError):
            return DataError(
                f"cannot read {str(path)!r} as {options.encoding} text; "
                f"{_encoding_fix(path)} in params.yaml, or save the file as UTF-8"
            )
        return DataError(_parse_problem(path, str(exc), delimiter, options))

    try:
        reader = csv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        schema = reader.schema
        schema.names  # noqa: B018  # pyarrow decodes the column names only when asked for them
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise problem(exc) from exc

    def batches():
        with reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                    raise problem(exc) from exc
                yield batch

    return schema, batches()


def _encoding_fix(path: Path) -> str:
    """The setting to try: UTF-16 files begin with a byte-order mark, others are most often Latin-1 or Windows-1252."""
    if _starts_utf16(path):
        return "the file starts like UTF-16 text: set data.csv.encoding: utf-16"
    return "set data.csv.encoding to the file's encoding (e.g. latin-1 or cp1252)"


def _starts_utf16(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def detect_delimiter(path: Path, encoding: str = "utf-8") -> str:
    """The candidate that splits the header and the first lines into the same number of fields (the most wins).

    A candidate that splits them unevenly counts only when none splits them evenly; with none at all (one column), ','.
    """
    with path.open("rb") as file:
        head = file.read(SAMPLE_BYTES)
        whole = not file.read(1)
    text = head.decode("utf-8-sig" if _is_utf8(encoding) else encoding, errors="replace")
    if not whole and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # the last line is probably cut off
    best, best_score = ",", (False, 1)
    for delimiter in DELIMITERS:
        try:
            rows = list(islice(pycsv.reader(io.StringIO(text, newline=""), delimiter=delimiter), SAMPLE_LINES))
        except pycsv.Error:  # not text this reader can split (a stray carriage return or NUL byte): pyarrow will say
            continue
        rows = [row for row in rows if row]
        score = (len({len(row) for row in rows}) == 1, len(rows[0]) if rows else 0)
        if score[1] > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _arrow_encoding(encoding: str) -> str:
    # pyarrow reads "utf8" natively (and skips a byte-order mark); any other name goes through a Python codec.
    return "utf8" if _is_utf8(encoding) else encoding


def _parse_problem(path: Path, message: str, delimiter: str, options: CsvParams) -> str:
    if _is_utf8(options.encoding) and _starts_utf16(path):  # read as UTF-8, every other byte is a NUL
        return f"cannot read {str(path)!r} as UTF-8 CSV: {_encoding_fix(path)}"
    reason = message.splitlines()[0] if message else "unknown error"
    reason = reason if len(reason) <= 160 else reason[:157] + "..."  # pyarrow quotes the whole row
    how = "as set in data.csv.delimiter" if options.delimiter else "detected from the first lines"
    if FIELD_COUNT.search(reason):
        hint = (
            f"rows have different numbers of fields with the delimiter {NAMES[delimiter]} ({how}): set "
            "data.csv.delimiter to the character between fields, and check that text holding it is quoted"
        )
    else:
        hint = f"check the file is a valid CSV file (delimiter {NAMES[delimiter]}, {how})"
    return f"cannot read {str(path)!r} as CSV ({reason}); {hint}"
