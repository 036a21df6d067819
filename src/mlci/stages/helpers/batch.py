"""`make new-batch`: write a batch of new demo data, labelled, with the training schema.

`python -m mlci.stages.helpers.batch --season holiday --rows 20000 --seed 7 --out data/incoming/batch.parquet` draws
from the same generator as the `generate` stage (`holiday` shifts it). The generator's parameters are stored in the
file's metadata (`mlci.demo`), so that taking the batch into the training data can record them in `params.yaml`
instead of the data: a retrain branch then reproduces anywhere, without a DVC remote.

Not a DVC stage: new data arrives from outside the pipeline. It lives beside `generate` because it reuses it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlci.core import cli
from mlci.core.params import DEMO_BATCH_KEY, DemoParams
from mlci.stages.helpers.demo import SCHEMA, SEASONS, generate

METADATA_KEY = DEMO_BATCH_KEY  # read back by mlci.monitor.intake
DEFAULT_OUT = Path("data/incoming/batch.parquet")


def write_batch(params: DemoParams, path: Path) -> None:
    import pyarrow.parquet as pq

    from mlci.core.io import write_with

    record = {"season": params.season, "seed": params.seed, "n_rows": params.n_rows}
    schema = SCHEMA.with_metadata({METADATA_KEY: json.dumps(record, sort_keys=True).encode()})

    def writer(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as out:
            for table in generate(params.n_rows, params.seed, params.season):
                out.write_table(table.replace_schema_metadata(schema.metadata))

    write_with(path, writer)


@cli.command("new-batch")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.stages.helpers.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--season", choices=sorted(SEASONS), default="normal")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from pydantic import ValidationError

    from mlci.core.errors import ParamsError
    from mlci.core.params import describe

    try:
        params = DemoParams(n_rows=args.rows, seed=args.seed, season=args.season)
    except ValidationError as exc:
        raise ParamsError(describe(exc.errors()[0], root=DemoParams)) from None
    if args.out.is_dir():
        raise ParamsError(f"--out {args.out} is a folder; give the batch's file path, such as {DEFAULT_OUT}")
    write_batch(params, args.out)
    print(f"wrote {args.out}: {params.n_rows:,} {params.season} rows, seed {params.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
