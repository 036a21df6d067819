"""Taking a batch into the training data: demo batches as generator parameters, other files appended in place."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from pyarrow import csv

from mlci.core.params import load_params
from mlci.monitor import intake
from mlci.stages.helpers import batch as new_batch
from mlci.stages.helpers.demo import generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project_params(tmp_dir: Path) -> Path:
    """The project's own params.yaml (with its comments) in the working directory."""
    path = tmp_dir / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def set_policy(path: Path, **retrain) -> None:
    path.write_text(path.read_text().replace("    policy: append", f"    policy: {retrain.pop('policy')}"))
    for key, value in retrain.items():
        path.write_text(path.read_text().replace(f"    {key}: null", f"    {key}: {value}"))


def test_main__a_demo_batch_is_recorded_in_params_keeping_the_comments(project_params: Path, capsys) -> None:
    new_batch.main(["--season", "holiday", "--rows", "500", "--seed", "7", "--out", "in/batch.parquet"])
    before = project_params.read_text()

    assert intake.main(["--batch", "in/batch.parquet"]) == 0
    assert intake.main(["--batch", "in/batch.parquet"]) == 0, "the same batch twice is recorded once"

    demo = load_params().demo
    assert [b.model_dump() for b in demo.batches] == [{"season": "holiday", "seed": 7, "n_rows": 500}]
    assert demo.window_rows is None and demo.window_days is None
    after = project_params.read_text()
    assert "# Every setting of the pipeline." in after and "positive_label: null  # needed when" in after
    assert len(after.splitlines()) == len(before.splitlines()) + 1, "one line more: the batch"
    assert "recorded the holiday demo batch (seed 7, 500 rows) in params.yaml demo.batches" in capsys.readouterr().out


def test_main__the_window_policy_reaches_the_demo_params(project_params: Path) -> None:
    set_policy(project_params, policy="window", window_days=45)
    new_batch.main(["--season", "holiday", "--rows", "500", "--seed", "7", "--out", "batch.parquet"])

    assert intake.main(["--batch", "batch.parquet"]) == 0

    assert load_params().demo.window_days == 45 and load_params().demo.window_rows is None


def _user_project(tmp_dir: Path, policy: dict) -> Path:
    rows = pa.concat_tables(generate(1000, 1)).to_pylist()
    for row in rows:
        row["timestamp"] = row["timestamp"].isoformat()
    source = tmp_dir / "data" / "mine.csv"
    source.parent.mkdir()
    csv.write_csv(pa.Table.from_pylist(rows), source)
    data = {"source": "data/mine.csv", "time_column": "timestamp"}
    (tmp_dir / "params.yaml").write_text(yaml.safe_dump({"data": data, "monitor": {"retrain": policy}}))
    return source


@pytest.mark.parametrize(
    ("policy", "rows"),
    [({"policy": "append"}, 1500), ({"policy": "window", "window_rows": 600}, 600)],
    ids=["append", "window-rows"],
)
def test_main__a_user_batch_is_appended_to_the_source_file(tmp_dir: Path, capsys, policy: dict, rows: int) -> None:
    source = _user_project(tmp_dir, policy)
    pq.write_table(pa.concat_tables(generate(500, 2, "holiday")), tmp_dir / "batch.parquet")

    assert intake.main(["--batch", "batch.parquet"]) == 0

    table = csv.read_csv(source)
    assert table.num_rows == rows
    times = table.column("timestamp").to_pylist()
    assert times == sorted(times) or policy["policy"] == "append"
    assert str(max(times)).startswith("2027-01"), "the holiday batch's latest rows are kept"
    out = capsys.readouterr().out
    assert f"data/mine.csv: 1,000 rows and 500 from the batch -> {rows:,} rows" in out and "run `dvc add`" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["amount"]), "the batch lacks columns of 'data/mine.csv': amount"),
        (
            lambda t: t.set_column(11, "is_fraud", pa.array([None] * t.num_rows, pa.bool_())),
            "500 rows of the batch have no 'is_fraud'; only labelled rows can join the training data",
        ),
    ],
    ids=["missing-column", "no-labels"],
)
def test_main__a_batch_that_cannot_join_exits_2_and_changes_nothing(tmp_dir: Path, capsys, change, message) -> None:
    source = _user_project(tmp_dir, {"policy": "append"})
    before = source.read_bytes()
    pq.write_table(change(pa.concat_tables(generate(500, 2))), tmp_dir / "batch.parquet")

    assert intake.main(["--batch", "batch.parquet"]) == 2

    assert message in capsys.readouterr().err
    assert source.read_bytes() == before


def test_main__a_failing_dvc_add_is_one_line_naming_the_command(
    tmp_dir: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # the venv's dvc
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    source = _user_project(tmp_dir, {"policy": "append"})
    (source.parent / "mine.csv.dvc").write_text("outs:\n- path: mine.csv\n")  # tracked, but no DVC repository here
    pq.write_table(pa.concat_tables(generate(500, 2)), tmp_dir / "batch.parquet")

    assert intake.main(["--batch", "batch.parquet"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: intake: dvc add data/mine.csv failed: you are not inside of a DVC repository"), err
    assert err.count("\n") == 1


def test_main__a_user_file_cannot_join_the_generated_demo_data(project_params: Path, capsys) -> None:
    pq.write_table(pa.concat_tables(generate(500, 2)), "batch.parquet")  # no generator parameters in it

    assert intake.main(["--batch", "batch.parquet"]) == 2
    assert "data.source is the generated demo data and 'batch.parquet' is not a demo batch" in capsys.readouterr().err


def test_demo_batch__reads_the_recorded_parameters(tmp_dir: Path) -> None:
    new_batch.main(["--rows", "200", "--seed", "1", "--out", "b.parquet"])
    assert intake.demo_batch(Path("b.parquet")).model_dump() == {"season": "normal", "seed": 1, "n_rows": 200}
    assert json.loads(pq.read_schema("b.parquet").metadata[b"mlci.demo"])["n_rows"] == 200
    (tmp_dir / "b.csv").write_text("a\n1\n")
    assert intake.demo_batch(Path("b.csv")) is None
