"""Stage `split`: the latest rows as the test set when there is a time column, else a seeded stratified split."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core.errors import DataError
from mlci.core.params import SplitParams
from mlci.stages import split as stage
from mlci.stages import validate
from mlci.stages.split import check_classes, split_indices


def test_split_indices__time_based():
    rng = np.random.default_rng(0)
    times = rng.permutation(1000)
    target = (rng.random(1000) < 0.1).astype(np.int8)

    train, test = split_indices(target, times, SplitParams(test_size=0.25))

    assert (len(train), len(test)) == (750, 250)
    assert times[train].max() < times[test].min()
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(1000))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # sorted: rows keep their file order


def test_split_indices__time_ties_are_stable():
    times = np.array([5, 1, 5, 5, 2, 5])

    train, test = split_indices(np.zeros(6), times, SplitParams(test_size=0.5))

    assert train.tolist() == [0, 1, 4]  # of the rows tied at the cut, the earliest in the file go to train
    assert test.tolist() == [2, 3, 5]


def test_split_indices__stratified():
    target = np.array([1] * 50 + [0] * 950)

    train, test = split_indices(target, None, SplitParams(test_size=0.2, seed=3))

    assert (len(train), len(test)) == (800, 200)
    assert target[test].mean() == target[train].mean() == 0.05
    assert not set(train) & set(test)


def test_split_indices__seeded():
    target = np.array([1, 0, 0, 0] * 250)

    first = split_indices(target, None, SplitParams(seed=1))
    again = split_indices(target, None, SplitParams(seed=1))
    other = split_indices(target, None, SplitParams(seed=2))

    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize(
    ("target", "times", "message"),
    [
        pytest.param(
            [0] * 95 + [1] * 5,
            np.arange(100)[::-1],
            "the test split has no positive rows (20 rows in all); the time-based split puts the latest rows in test; "
            "use more data, a larger split.test_size, or unset data.time_column for a stratified split",
            id="time-based-no-positive-in-test",
        ),
        pytest.param(
            [0] * 80 + [1] * 20,
            np.arange(100),
            "the train split has no positive rows (80 rows in all); the time-based split puts the latest rows in test",
            id="time-based-no-positive-in-train",
        ),
        pytest.param(
            [0] * 99 + [1],
            None,
            "the test split has no positive rows (20 rows in all); use more data or a larger split.test_size",
            id="stratified-single-positive",
        ),
        pytest.param(
            [1] * 99 + [0],
            None,
            "the test split has no negative rows (20 rows in all); use more data or a larger split.test_size",
            id="stratified-single-negative",
        ),
    ],
)
def test_check_classes__bad(target, times, message):
    target = np.array(target)
    train, test = split_indices(target, times, SplitParams(test_size=0.2))

    with pytest.raises(DataError) as caught:
        check_classes(target, train, test, by_time=times is not None)

    assert message in str(caught.value)


def _validated_project(tmp_dir, write_params, table: pa.Table, **data):
    (tmp_dir / "data/raw").mkdir(parents=True)
    pq.write_table(table, tmp_dir / validate.INPUT)
    write_params(data={"target": "y", **data}, validate={"min_rows": 10}, split={"test_size": 0.25, "seed": 4})
    assert validate.main() == 0


N = 80
START = dt.datetime(2026, 1, 1)


@pytest.mark.parametrize(
    "times",
    [
        pa.array([START + dt.timedelta(hours=7 * i) for i in range(N)][::-1], pa.timestamp("s")),
        pa.array([(START + dt.timedelta(days=i)).date() for i in range(N)][::-1]),
        pa.array([(START + dt.timedelta(hours=7 * i)).isoformat() for i in range(N)][::-1]),
        pa.array(list(range(N))[::-1], pa.int64()),
        pa.array([i / 4 for i in range(N)][::-1], pa.float64()),
    ],
    ids=["timestamp", "date", "iso-text", "integer", "float"],
)
def test_main__time_based(tmp_dir, write_params, times):
    table = pa.table({"x": [float(i % 7) for i in range(N)], "when": times, "y": [1, 0, 0, 0] * (N // 4)})
    _validated_project(tmp_dir, write_params, table, time_column="when")

    assert stage.main() == 0

    train, test = pq.read_table(tmp_dir / stage.TRAIN), pq.read_table(tmp_dir / stage.TEST)
    assert (train.num_rows, test.num_rows) == (60, 20)
    assert train.column_names == test.column_names == pq.read_table(tmp_dir / stage.INPUT).column_names
    # Rows are stored newest first, so the test set is the first 20 rows.
    assert test.column("x").to_pylist() == [float(i % 7) for i in range(20)]


def test_main__stratified(tmp_dir, write_params):
    table = pa.table({"x": [float(i) for i in range(N)], "y": ["yes", "no", "no", "no"] * (N // 4)})
    _validated_project(tmp_dir, write_params, table)

    assert stage.main() == 0
    first = (tmp_dir / stage.TEST).read_bytes()
    assert stage.main() == 0

    test = pq.read_table(tmp_dir / stage.TEST).column("y").to_pylist()
    assert (len(test), sum(test)) == (20, 5)
    assert (tmp_dir / stage.TEST).read_bytes() == first


def test_main__no_positives_in_test(tmp_dir, write_params, capsys):
    table = pa.table({"x": [float(i) for i in range(N)], "t": list(range(N)), "y": [1] * 10 + [0] * (N - 10)})
    _validated_project(tmp_dir, write_params, table, time_column="t")

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: split: the test split has no positive rows (20 rows in all); the time-based split puts the latest "
        "rows in test; use more data, a larger split.test_size, or unset data.time_column for a stratified split\n"
    )
    assert not (tmp_dir / stage.TEST).exists()


def test_main__no_input(write_params, capsys):
    write_params()

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: split: 'data/validated/schema.json' not found; run `dvc repro` so the earlier stages produce it\n"
    )
