"""Stage `generate`: write the built-in demo data set.

Reads `demo.*` params; writes `data/demo/transactions.parquet` (one row group per chunk, streamed, so memory stays
bounded at any `n_rows`). `data.source` points here by default; point it at your own file to leave the demo behind.
"""

from __future__ import annotations

from pathlib import Path

from mlci.core import cli, paths
from mlci.core.io import write_with
from mlci.core.params import DemoParams, load_params
from mlci.stages.demo import SCHEMA, generate

OUTPUT = paths.DEMO_DATA


def write_demo(params: DemoParams, path: Path = OUTPUT) -> None:
    import pyarrow.parquet as pq

    def writer(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as out:
            for table in generate(params.n_rows, params.seed, params.season):
                out.write_table(table)

    write_with(path, writer)


def main() -> int:
    return cli.run(lambda: write_demo(load_params().demo), "generate")


if __name__ == "__main__":
    raise SystemExit(main())
