"""Stage `generate`: the demo data written once, byte for byte the same, with recorded batches and a window."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core import paths
from mlci.core.params import DemoParams
from mlci.stages import generate
from mlci.stages.helpers import demo


def table(n_rows: int, seed: int = 42, season: str = "normal") -> pa.Table:
    return pa.concat_tables(demo.generate(n_rows, seed, season))


def test_write_demo__byte_identical(tmp_path):
    params = DemoParams(n_rows=3000, seed=3, season="holiday")

    generate.write_demo(params, tmp_path / "a.parquet")
    generate.write_demo(params, tmp_path / "b.parquet")

    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_main(write_params, tmp_dir):
    write_params(demo={"n_rows": 500, "seed": 1})

    assert generate.main() == 0
    first = (tmp_dir / paths.DEMO_DATA).read_bytes()
    assert generate.main() == 0

    assert pq.read_metadata(tmp_dir / paths.DEMO_DATA).num_rows == 500
    assert (tmp_dir / paths.DEMO_DATA).read_bytes() == first


def test_main__bad_params(write_params, tmp_dir, capsys):
    write_params(demo={"n_rows": 10})

    assert generate.main() == 2

    assert capsys.readouterr().err == (
        "error: generate: params.yaml: demo.n_rows must be greater than or equal to 100; got 10.\n"
    )
    assert not (tmp_dir / paths.DEMO_DATA).exists()


def test_write_demo__recorded_batches_follow_with_their_ids_continuing(tmp_path):
    params = DemoParams(n_rows=1000, seed=1, batches=[{"season": "holiday", "seed": 7, "n_rows": 500}])

    generate.write_demo(params, tmp_path / "a.parquet")

    written = pq.read_table(tmp_path / "a.parquet").cast(demo.SCHEMA)
    assert written.slice(0, 1000).equals(table(1000, 1))
    assert written.column("transaction_id").to_pylist() == list(range(1500))
    holiday = table(500, 7, "holiday")
    assert written.slice(1000).drop_columns(["transaction_id"]).equals(holiday.drop_columns(["transaction_id"]))


@pytest.mark.parametrize(
    ("window", "rows"), [({"window_rows": 700}, 700), ({"window_days": 30}, None)], ids=["rows", "days"]
)
def test_write_demo__a_window_keeps_the_latest_rows(tmp_path, window: dict, rows: int | None):
    params = DemoParams(n_rows=1000, seed=1, batches=[{"season": "holiday", "seed": 7, "n_rows": 500}], **window)

    generate.write_demo(params, tmp_path / "a.parquet")

    times = pq.read_table(tmp_path / "a.parquet").column("timestamp").to_numpy()
    assert (np.diff(times.astype("int64")) >= 0).all(), "sorted by time"
    if rows is not None:
        assert len(times) == rows
    else:
        assert times.max() - times.min() <= np.timedelta64(30, "D") and 0 < len(times) < 500
