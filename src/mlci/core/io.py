"""File helpers shared by the stages: every write is atomic (temp file in the same folder, then rename).

A stage that fails half-way therefore never leaves a truncated output behind, and the previous result stays intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlci.core.errors import DataError

# Rows per record batch read and per Parquet row group written: what a stage holds in memory at a time (and a Dask
# partition).
BATCH_ROWS = 65_536


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp creates the file private (0600); give it the mode a plain open() would, so outputs stay readable.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path | str, obj: Any) -> None:
    """Stable JSON: sorted keys, 2-space indent, trailing newline, so git diffs and DVC hashes are reproducible."""
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def require(path: Path | str) -> Path:
    """Return `path` if it is a file; else raise `DataError`: an earlier stage has not produced it yet."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{str(path)!r} not found; run `dvc repro` so the earlier stages produce it")
    return path


def write_with(path: Path | str, writer: Callable[[Path], None]) -> None:
    """Let `writer` fill a temp file, then move it into place."""
    with atomic_path(path) as tmp:
        writer(tmp)


def read_parquet(path: Path | str, columns: list[str] | None = None) -> Any:
    """Read one Parquet file into a pyarrow Table.

    Through `pq.ParquetFile`, not `pq.read_table`: the latter imports `pyarrow.dataset`, and with it pandas (0.3 s),
    which `ingest` otherwise never loads.
    """
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        return file.read(columns=columns)


def write_parquet(path: Path | str, table: Any) -> None:
    """Write a pyarrow Table atomically, with settings fixed so the bytes depend only on the data."""
    import pyarrow.parquet as pq

    write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=BATCH_ROWS))


class ParquetSink:
    """Record batches in, Parquet row groups of `BATCH_ROWS` rows out.

    The file has the bytes `write_parquet` gives the whole table, with at most about one row group in memory.
    """

    def __init__(self, path: Path | str, schema: Any) -> None:
        import pyarrow.parquet as pq

        self.schema = schema
        self.rows = 0
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        self._pending: list[Any] = []
        self._pending_rows = 0

    def write(self, data: Any) -> None:
        """Add a record batch or a table."""
        for batch in data.to_batches() if hasattr(data, "to_batches") else [data]:
            if batch.num_rows:
                self._pending.append(batch)
                self._pending_rows += batch.num_rows
                self.rows += batch.num_rows
        while self._pending_rows >= BATCH_ROWS:
            self._flush(BATCH_ROWS)

    def _flush(self, rows: int) -> None:
        import pyarrow as pa

        table = pa.Table.from_batches(self._pending, self.schema)
        self._writer.write_table(table.slice(0, rows).combine_chunks(), row_group_size=BATCH_ROWS)
        rest = table.slice(rows)
        self._pending, self._pending_rows = rest.to_batches(), rest.num_rows

    def close(self) -> None:
        if self._pending_rows or not self.rows:  # an empty input still gets a valid file with its columns
            self._flush(self._pending_rows)
        self._writer.close()


@contextmanager
def parquet_sink(path: Path | str, schema: Any) -> Iterator[ParquetSink]:
    """Yield a `ParquetSink` writing to a temp file; it replaces `path` only if the block succeeds."""
    with atomic_path(path) as tmp:
        sink = ParquetSink(tmp, schema)
        try:
            yield sink
        except BaseException:
            sink._writer.close()
            raise
        sink.close()


def iter_parquet(path: Path | str, columns: list[str] | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """Yield one Parquet file's record batches of at most `batch_rows` rows, in file order.

    `pre_buffer=False`: with it, pyarrow reads every row group's column chunks ahead, the whole file in memory.
    """
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, pre_buffer=False) as file:
        yield from file.iter_batches(batch_size=batch_rows, columns=columns, use_threads=True)
