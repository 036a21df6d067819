"""Stage `generate`: write the built-in demo data set.

Reads `demo.*` params; writes `data/demo/transactions.parquet` (one row group per chunk, streamed, so memory stays
bounded at any `n_rows`). Batches that retraining took in (`demo.batches`) follow the base rows, their transaction
ids continuing the count; a window (`demo.window_rows` or `demo.window_days`) keeps the latest rows only, and holds
the data in memory to sort it by time. `data.source` points here by default; point it at your own file to leave the
demo behind.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from mlci.core import cli, paths
from mlci.core.io import write_with
from mlci.core.params import DemoParams, load_params
from mlci.stages.helpers.demo import SCHEMA, generate


def write_demo(params: DemoParams, path: Path = paths.DEMO_DATA) -> None:
    import pyarrow.parquet as pq

    def writer(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as out:
            for table in tables(params):
                out.write_table(table)

    write_with(path, writer)


def tables(params: DemoParams) -> Iterator:
    """The base data set, then each recorded batch with its ids following on; then the window, if one is set."""
    import pyarrow.compute as pc

    parts: list[tuple[int, int, str]] = [(params.n_rows, params.seed, params.season)]
    parts += [(batch.n_rows, batch.seed, batch.season) for batch in params.batches]
    chunks = _chunks(parts)
    if params.window_rows is None and params.window_days is None:
        yield from chunks  # streamed: bounded memory at any size
        return
    import pyarrow as pa

    whole = pa.concat_tables(chunks)
    whole = whole.take(pc.sort_indices(whole, [("timestamp", "ascending"), ("transaction_id", "ascending")]))
    if params.window_rows is not None:
        whole = whole.slice(max(whole.num_rows - params.window_rows, 0))
    elif params.window_days is not None:
        start = pc.subtract(pc.max(whole.column("timestamp")), pa.scalar(params.window_days * 86_400, pa.duration("s")))
        whole = whole.filter(pc.greater(whole.column("timestamp"), start))
    yield whole


def _chunks(parts: list[tuple[int, int, str]]) -> Iterator:
    import pyarrow.compute as pc

    first_id = 0
    for n_rows, seed, season in parts:
        for table in generate(n_rows, seed, season):
            if first_id:
                ids = pc.add(table.column("transaction_id"), first_id)
                table = table.set_column(0, SCHEMA.field(0), ids)
            yield table
        first_id += n_rows


@cli.command("generate")
def main(argv: Sequence[str] = ()) -> int:
    cli.no_options(argv, "mlci.stages.generate", __doc__)
    write_demo(load_params().demo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
