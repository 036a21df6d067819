"""Take a batch into the training data, following `monitor.retrain`: append it, or keep a sliding window.

`python -m mlci.monitor.intake --batch PATH`, after the drift check called for retraining; `dvc repro` follows.
- A demo batch (written by `make new-batch`, its generator parameters in its metadata) while `data.source` is the
  demo data: recorded in `params.yaml` under `demo.batches`, the window under `demo.window_*`. The `generate` stage
  then rebuilds the same data anywhere, with no DVC remote.
- Any other batch (CSV, Parquet or JSON lines, with labels): appended to the file `data.source` names, the window
  applied, written back in place in its format; then `dvc add` runs again when the file is DVC-tracked (a `.dvc`
  file beside it), so the new version is DVC's to store and push.
Prints what it did in one line. Nothing is written unless everything was read and checked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.io import write_bytes, write_with
from mlci.core.params import DEMO_BATCH_KEY, DataParams, DemoBatch, load_params
from mlci.core.revisions import run
from mlci.monitor.batch import read_table
from mlci.monitor.params import RetrainParams, load_monitor_params


def demo_batch(path: Path) -> DemoBatch | None:
    """The generator parameters a demo batch records, or None for any other file."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return None
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except OSError:
        return None
    record = metadata.get(DEMO_BATCH_KEY)
    return DemoBatch.model_validate(json.loads(record)) if record else None


def record_demo_batch(text: str, batch: DemoBatch, policy: RetrainParams) -> str:
    """`params.yaml` text with the batch added to `demo.batches` and the policy's window; comments kept."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()
    yaml.width = 120
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    data = yaml.load(text)
    demo = data["demo"]
    if not isinstance(demo.get("batches"), list):
        demo["batches"] = CommentedSeq()
    entry = CommentedMap(batch.model_dump())
    entry.fa.set_flow_style()
    if batch.model_dump() not in [dict(item) for item in demo["batches"]]:  # taking the same batch in twice: once
        demo["batches"].append(entry)
    window = policy.policy == "window"
    demo["window_rows"] = policy.window_rows if window else None
    demo["window_days"] = policy.window_days if window else None
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def append(source, batch, data: DataParams, policy: RetrainParams):
    """The source table with the batch's rows after it (in the source's columns and types), then the window."""
    import pyarrow as pa

    missing = [name for name in source.column_names if name not in batch.column_names]
    if missing:
        raise DataError(f"the batch lacks columns of {data.source!r}: {', '.join(missing)}; it cannot join it")
    unlabelled = batch.column(data.target).null_count
    if unlabelled:
        raise DataError(
            f"{unlabelled} rows of the batch have no {data.target!r}; only labelled rows can join the training data"
        )
    try:
        rows = batch.select(source.column_names).cast(source.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"the batch's columns do not convert to the types of {data.source!r} ({exc})") from exc
    return window(pa.concat_tables([source, rows]), data, policy)


def window(table, data: DataParams, policy: RetrainParams):
    """All rows (policy append), or the latest `window_rows` rows or `window_days` days of `data.time_column`."""
    from datetime import timedelta

    import pyarrow as pa
    import pyarrow.compute as pc

    if policy.policy == "append":
        return table
    times = None
    if data.time_column is not None:
        times = table.column(data.time_column)
        if pa.types.is_string(times.type):
            times = times.cast(pa.timestamp("s"))
        order = pc.array_sort_indices(times)  # stable: rows at the same time keep their order
        table, times = table.take(order), times.take(order)
    if policy.window_rows is not None:
        return table.slice(max(table.num_rows - policy.window_rows, 0))
    assert policy.window_days is not None  # a window policy sets window_rows or window_days (monitor.params)
    if times is None or not pa.types.is_timestamp(times.type):
        raise DataError("monitor.retrain.window_days needs a date or timestamp data.time_column; or use window_rows")
    cutoff = pc.max(times).as_py() - timedelta(days=policy.window_days)
    return table.filter(pc.greater(times, pa.scalar(cutoff, type=times.type)))


def take_in(batch_path: Path, params_path: Path = paths.PARAMS) -> str:
    """Take the batch in; return one line saying what changed."""
    project = load_params(params_path)
    policy = load_monitor_params(params_path).retrain
    data = project.data
    demo = demo_batch(batch_path)
    if demo is not None and Path(data.source) == paths.DEMO_DATA:
        text = record_demo_batch(params_path.read_text(encoding="utf-8"), demo, policy)
        write_bytes(params_path, text.encode())
        load_params(params_path)  # the edit is valid params
        return (
            f"recorded the {demo.season} demo batch (seed {demo.seed}, {demo.n_rows:,} rows) in params.yaml "
            f"demo.batches; policy {policy.policy}"
        )
    if Path(data.source) == paths.DEMO_DATA:
        raise DataError(
            f"data.source is the generated demo data and {str(batch_path)!r} is not a demo batch; point data.source "
            "at your own file (tracked with `dvc add`) to take in other data"
        )
    source_path = Path(data.source)
    source, batch = read_table(source_path), read_table(batch_path)
    table = append(source, batch, data, policy)
    _write_like(source_path, table)
    tracked = source_path.with_name(source_path.name + ".dvc")
    if tracked.is_file():
        run("dvc", "add", str(source_path), error=DataError)
    return (
        f"{data.source}: {source.num_rows:,} rows and {batch.num_rows:,} from the batch -> {table.num_rows:,} rows "
        f"(policy {policy.policy}){'; dvc add done' if tracked.is_file() else '; not DVC-tracked: run `dvc add`'}"
    )


def _write_like(path: Path, table) -> None:
    if path.suffix.lower() == ".csv":
        from pyarrow import csv

        write_with(path, lambda tmp: csv.write_csv(table, tmp))
    else:
        import pyarrow.parquet as pq

        write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


@cli.command("intake")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.monitor.intake", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=Path, required=True, metavar="PATH", help="the batch to take in")
    args = parser.parse_args(argv)
    print(take_in(args.batch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
