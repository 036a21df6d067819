"""`make new-batch`: a labelled demo batch with the training schema, its generator parameters in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from mlci.stages.helpers import batch
from mlci.stages.helpers.demo import SCHEMA


def test_main__writes_the_batch_and_records_how(tmp_dir: Path, capsys) -> None:
    assert batch.main(["--season", "holiday", "--rows", "1500", "--seed", "3", "--out", "in/batch.parquet"]) == 0

    table = pq.read_table("in/batch.parquet")
    assert table.num_rows == 1500 and table.column_names == SCHEMA.names
    assert json.loads(table.schema.metadata[batch.METADATA_KEY]) == {"season": "holiday", "seed": 3, "n_rows": 1500}
    assert capsys.readouterr().out == "wrote in/batch.parquet: 1,500 holiday rows, seed 3\n"


def test_main__bad_row_count_exits_2(tmp_dir: Path, capsys) -> None:
    assert batch.main(["--rows", "5"]) == 2
    assert "n_rows must be greater than or equal to 100; got 5." in capsys.readouterr().err
    assert not (tmp_dir / "data").exists()


def test_main__out_a_folder_exits_2(tmp_dir: Path, capsys) -> None:
    (tmp_dir / "incoming").mkdir()

    assert batch.main(["--rows", "1000", "--out", "incoming"]) == 2
    assert capsys.readouterr().err == (
        "error: new-batch: --out incoming is a folder; give the batch's file path, such as "
        "data/incoming/batch.parquet\n"
    )
    assert list((tmp_dir / "incoming").iterdir()) == []
